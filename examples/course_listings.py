"""The course's Keras listings (seeds 001 and 003), run with only the import lines changed.

    python examples/course_listings.py            # summaries + a short training run

Seed 001, "RNN avec Keras": three models printed with their summaries (89,994 / 164,106 /
139,402 parameters) and the "Deep Encoder". Seed 003, "Building a RNN": the two-layer
SimpleRNN sentiment model, compiled with rmsprop + binary cross-entropy and trained. The
course trains it on IMDB (Keras downloads it; this machine has no network), so here it
learns `seqlab.datasets.load("toy_reviews")`, a generated stand-in with the same shapes:
word-id sequences (vocabulary 10,000, padded to 256) labelled by the polarity of the
opinion words spread through each review.
"""
# ---- the only changed lines: were `import tensorflow as tf`, `from tensorflow.keras import
# ---- layers`, `from tensorflow.keras.models import Sequential`, `...layers import ...`,
# ---- `from tensorflow.keras.preprocessing import sequence`
import seqlab as tf
from seqlab.keras import layers
from seqlab.keras.layers import Dense, Embedding, SimpleRNN
from seqlab.keras.models import Sequential
from seqlab.keras.preprocessing import sequence

# ---------------------------------------------------------------- seed 001, verbatim
model = tf.keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.SimpleRNN(128))
model.add(layers.Dense(10, activation='softmax'))
model.summary()

model = tf.keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.LSTM(128))
model.add(layers.Dense(10, activation='softmax'))
model.summary()

model = tf.keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.GRU(128))
model.add(layers.Dense(10, activation='softmax'))
model.summary()

model = tf.keras.Sequential()
model.add(layers.Embedding(input_dim=1000, output_dim=64))
model.add(layers.GRU(256, return_sequences=True))
model.add(layers.SimpleRNN(128))
model.add(layers.Dense(10, activation='softmax'))
model.summary()


# ---------------------------------------------------------------- data (IMDB stand-in)
# Reviews of 240-256 words: padded 'post' as in the listing, the SimpleRNN reads the zeros
# after the review last, so long tails of padding would wash the review out of its state.
train = tf.datasets.load("toy_reviews", count=10000, min_length=240, seed=0)
test = tf.datasets.load("toy_reviews", count=1000, min_length=240, seed=1)
X_train, y_train, X_test, y_test = train.x, train.y, test.x, test.y

# ---------------------------------------------------------------- seed 003, verbatim
X_train = sequence.pad_sequences(X_train,
                                 value=0,
                                 padding='post',  # to add zeros
                                 maxlen=256)  # the length we want

X_test = sequence.pad_sequences(X_test,
                                value=0,
                                padding='post',  # to add zeros
                                maxlen=256)  # the length we want


def my_RNN():

    model = Sequential()
    # The input_dim is the number of different words we have in
    # our corpus: here 10000
    # The input_length is the length of our sequences: here 256
    # thanks to padding
    model.add(Embedding(input_dim=10000, output_dim=32,
                        input_length=256))

    # We add two layers of RNN
    model.add(SimpleRNN(units=8, return_sequences=True))
    model.add(SimpleRNN(units=8, return_sequences=False))

    # Finally we add a sigmoid
    model.add(Dense(units=1, activation='sigmoid'))

    return model


model = my_RNN()
model.summary()

model.compile(optimizer='rmsprop',
              loss='binary_crossentropy',
              metrics=['accuracy'])

model.fit(x=X_train, y=y_train, validation_data=(X_test, y_test)
          , epochs=10, batch_size=128)

print('accuracy on train with NN:', model.evaluate(X_train,
      y_train)[1])
print('accuracy on test with NN:', model.evaluate(X_test, y_test
      )[1])

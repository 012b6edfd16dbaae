"""keras.io's character-level LSTM seq2seq, in the Functional API, on the calculator data.

The model of keras.io's "Character-level recurrent sequence-to-sequence model" (an
encoder LSTM whose final states start a decoder LSTM, trained with teacher forcing, then
split into an encoder model and a one-step decoder model for greedy decoding), written as
a Keras 3 user writes it; only the imports are seqlab's. The data are seqlab's calculator
(``seqlab.datasets.load("addition", digits=2)``): questions such as "35+61" and their
answers "96", one character at a time.

Encoding (one-hot, as keras.io): the question is reversed and padded on the left with
spaces to 2*digits+1 characters (the registry's ``x``); the decoder reads "\\t" + answer + "\\n"
and must write answer + "\\n" (the start and stop characters of keras.io), padded with
spaces; the target is the decoder's input one step ahead (teacher forcing)::

    question "35+61"  -> encoder reads " 16+53" (reversed, padded), one-hot (5, 12)
    answer   "96"     -> decoder input  "\\t96\\n "  target "96\\n  "

Run: ``python examples/keras_seq2seq_calculator.py`` (about a minute on a CPU core).
"""
from __future__ import annotations

import numpy as np

import seqlab
from seqlab import keras
from seqlab.keras import layers

START, STOP = "\t", "\n"


def load_data(digits: int = 2, count: int = 6000, seed: int = 0):
    """One-hot encoder inputs, decoder inputs and targets; the decoder's characters."""
    d = seqlab.datasets.load("addition", digits=digits, count=count, seed=seed, encoded=True)
    enc_vocab = d.vocab
    dec_vocab = d.vocab + [START, STOP]
    width = d.y.shape[1] + 2  # the longest possible answer, the start and stop characters
    enc = np.eye(len(enc_vocab), dtype="float32")[d.x]  # (N, 2*digits+1, V_enc)
    dec_in = np.zeros((len(d.answers), width, len(dec_vocab)), "float32")
    target = np.zeros_like(dec_in)
    index = {c: i for i, c in enumerate(dec_vocab)}
    for n, answer in enumerate(d.answers):
        text_in = (START + answer + STOP).ljust(width)
        text_out = (answer + STOP).ljust(width)
        dec_in[n, np.arange(width), [index[c] for c in text_in]] = 1.0
        target[n, np.arange(width), [index[c] for c in text_out]] = 1.0
    return enc, dec_in, target, d.answers, d.questions, dec_vocab


def build(num_encoder_tokens: int, num_decoder_tokens: int, latent_dim: int = 128):
    """The training model and the layers the inference models share."""
    encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
    encoder = layers.LSTM(latent_dim, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_inputs)
    encoder_states = [state_h, state_c]

    decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
    decoder_lstm = layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
    decoder_dense = layers.Dense(num_decoder_tokens, activation="softmax")
    decoder_outputs = decoder_dense(decoder_outputs)

    model = keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)
    return model, (encoder_inputs, encoder_states, decoder_inputs, decoder_lstm, decoder_dense)


def inference_models(parts, latent_dim: int):
    """keras.io's sampling models: the encoder to its states, the decoder one step on."""
    encoder_inputs, encoder_states, decoder_inputs, decoder_lstm, decoder_dense = parts
    encoder_model = keras.Model(encoder_inputs, encoder_states)
    decoder_state_input_h = keras.Input(shape=(latent_dim,))
    decoder_state_input_c = keras.Input(shape=(latent_dim,))
    decoder_states_inputs = [decoder_state_input_h, decoder_state_input_c]
    decoder_outputs, state_h, state_c = decoder_lstm(decoder_inputs,
                                                     initial_state=decoder_states_inputs)
    decoder_outputs = decoder_dense(decoder_outputs)
    decoder_model = keras.Model([decoder_inputs] + decoder_states_inputs,
                                [decoder_outputs, state_h, state_c])
    return encoder_model, decoder_model


def decode_sequences(encoder_model, decoder_model, input_seqs, dec_vocab, max_len: int):
    """Greedy decoding of a whole batch of questions at once (keras.io decodes one)."""
    h, c = encoder_model.predict(input_seqs, verbose=0)
    n, v = len(input_seqs), len(dec_vocab)
    target_seq = np.zeros((n, 1, v), "float32")
    target_seq[:, 0, dec_vocab.index(START)] = 1.0
    decoded = [""] * n
    done = np.zeros(n, dtype=bool)
    for _ in range(max_len):
        output_tokens, h, c = decoder_model.predict([target_seq, h, c], verbose=0)
        sampled = output_tokens[:, -1, :].argmax(-1)  # (n,)
        for i, token in enumerate(sampled):
            char = dec_vocab[token]
            if char == STOP:
                done[i] = True
            if not done[i]:
                decoded[i] += char
        if done.all():
            break
        target_seq = np.zeros((n, 1, v), "float32")
        target_seq[np.arange(n), 0, sampled] = 1.0
    return [s.strip() for s in decoded]


def train(digits: int = 2, count: int = 6000, latent_dim: int = 128, epochs: int = 30,
          batch_size: int = 64, seed: int = 0, verbose: int = 0):
    """Train on 90% of the questions; exact-match accuracy of greedy decoding on the rest."""
    enc, dec_in, target, answers, questions, dec_vocab = load_data(digits, count, seed)
    cut = int(0.9 * len(enc))
    model, parts = build(enc.shape[-1], dec_in.shape[-1], latent_dim)
    model.compile(optimizer=seqlab.optimizers.Adam(learning_rate=3e-3),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit([enc[:cut], dec_in[:cut]], target[:cut], batch_size=batch_size,
                        epochs=epochs, verbose=verbose, seed=seed,
                        validation_data=([enc[cut:], dec_in[cut:]], target[cut:]))
    encoder_model, decoder_model = inference_models(parts, latent_dim)
    got = decode_sequences(encoder_model, decoder_model, enc[cut:], dec_vocab,
                           max_len=dec_in.shape[1])
    exact = float(np.mean([g == a for g, a in zip(got, answers[cut:])]))
    examples = list(zip(questions[cut:cut + 5], got[:5]))
    return model, exact, history, examples


def main() -> None:
    model, exact, history, examples = train(verbose=2)
    model.summary()
    for question, answer in examples:
        print(f"{question} = {answer}")
    print(f"exact answers on held-out questions: {exact:.1%}")


if __name__ == "__main__":
    main()

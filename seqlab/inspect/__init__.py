"""Inspection tools: gradients per time step, gates, hidden states: BPTT made visible."""
from seqlab.inspect.gradients import (GateReport, GradientFlow, GradientNormLogger,
                                      gate_activations, hidden_gradients, hidden_states,
                                      recurrent_layers)
from seqlab.inspect.plots import (plot_gates, plot_gradient_flow, plot_gradient_norms,
                                  plot_hidden_states)

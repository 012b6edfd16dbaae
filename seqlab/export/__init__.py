"""From a run to production: export a trained model (ONNX or ``torch.export``'s pt2) with
what a client needs beside it, and run it without seqlab or torch.

    bundle.py      export_run(run_dir, format, output), export_model (``Model.export``)
    graphs.py      what each run type exports (a step graph for generation)
    stand_ins.py   recurrent layers in a graph: native ONNX LSTM/GRU/RNN nodes or torch.scan
                   loops; the swap of every layer that needs a stand-in
    fixed_shapes.py   Conv, LayerNormalization, BatchNormalization with constant shapes
    client.py      a NumPy + onnxruntime client (imports neither torch nor seqlab)

    >>> from seqlab.export import FORMATS
    >>> FORMATS
    ('onnx', 'pt2')
"""
from seqlab.export.bundle import FORMATS, export_model, export_run
from seqlab.errors import ExportError

__all__ = ["export_run", "export_model", "ExportError", "FORMATS"]

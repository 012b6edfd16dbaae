"""resolve_device: "auto", None (the model's device), names, and the errors for a device
this machine does not have (CUDA faked present or absent with monkeypatch)."""
import pytest
import torch

from seqlab.devices import DeviceError, resolve_device
from seqlab.errors import SeqlabError


def fake_cuda(monkeypatch, available: bool, count: int = 1):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: available)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count if available else 0)


@pytest.mark.parametrize("available,expected", [(True, "cuda"), (False, "cpu")])
def test_auto_is_cuda_when_available(monkeypatch, available, expected):
    fake_cuda(monkeypatch, available)
    assert resolve_device("auto") == torch.device(expected)
    assert resolve_device() == torch.device(expected)  # "auto" is the default


def test_none_is_where_the_model_is():
    model = torch.nn.Linear(2, 3).to(torch.device("meta"))
    assert resolve_device(None, model) == torch.device("meta")
    assert resolve_device(None, torch.nn.ReLU()) == torch.device("cpu")  # no parameters
    assert resolve_device(None) == torch.device("cpu")                   # no model


def test_names_and_devices_pass_through(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    fake_cuda(monkeypatch, True, count=2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")


def test_cuda_without_a_gpu_says_which_field_and_the_fix(monkeypatch):
    fake_cuda(monkeypatch, False)
    with pytest.raises(DeviceError) as err:
        resolve_device("cuda")
    text = str(err.value)
    assert "'cuda'" in text and "[training] device" in text and "device=" in text
    assert "torch.cuda.is_available() is False" in text and '"auto"' in text
    assert isinstance(err.value, SeqlabError) and isinstance(err.value, ValueError)


def test_a_gpu_index_past_the_last_gpu_is_an_error(monkeypatch):
    fake_cuda(monkeypatch, True, count=1)
    with pytest.raises(DeviceError, match=r"asks for CUDA GPU 3 .* has 1 \(0 to 0\)"):
        resolve_device("cuda:3")


@pytest.mark.parametrize("bad", ["gpu", "", 3.5])
def test_an_unknown_name_lists_the_valid_ones(bad):
    with pytest.raises(DeviceError, match=r'device must be "auto", "cpu", "cuda" or "cuda:N"'):
        resolve_device(bad)

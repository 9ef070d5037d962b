"""Stand-ins for EDM's preconditioner and network classes, used by export_test.go to check
tools/export_weights.py on a pickled module: same class names, attributes (sigma_data,
beta_d, ..., init_kwargs) and parameter names as NVlabs/edm, but no forward pass."""
import torch


class _Node(torch.nn.Module):
    pass


def _fill(root, state):
    for k, v in state.items():
        *path, leaf = k.split(".")
        m = root
        for p in path:
            if not hasattr(m, p):
                m.add_module(p, _Node())
            m = getattr(m, p)
        if leaf == "resample_filter":
            m.register_buffer(leaf, v.clone())
        else:
            m.register_parameter(leaf, torch.nn.Parameter(v.clone()))


class SongUNet(torch.nn.Module):
    def __init__(self, state, **init_kwargs):
        super().__init__()
        self.init_kwargs = dict(init_kwargs)
        _fill(self, state)


class DhariwalUNet(SongUNet):
    pass


class VPPrecond(torch.nn.Module):
    def __init__(self, model, img_resolution, img_channels, beta_d=19.9, beta_min=0.1, M=1000, epsilon_t=1e-5):
        super().__init__()
        self.img_resolution, self.img_channels, self.label_dim = img_resolution, img_channels, 0
        self.beta_d, self.beta_min, self.M, self.epsilon_t = beta_d, beta_min, M, epsilon_t
        self.model = model


class EDMPrecond(torch.nn.Module):
    def __init__(self, model, img_resolution, img_channels, sigma_data=0.5):
        super().__init__()
        self.img_resolution, self.img_channels, self.label_dim = img_resolution, img_channels, 0
        self.sigma_data, self.sigma_min, self.sigma_max = sigma_data, 0, float("inf")
        self.model = model

"""Generator backbones F(x_in, c_noise, labels) for the consistency parametrisation.

``UNetBackbone`` adapts a diffusers ``UNet2DModel`` (the family of the official ACT code);
``ToyMLP`` is a time-conditioned MLP for 2-D point clouds. Both are wrapped by
``act.parametrization.ConsistencyFunction`` (Song et al. 2023, eq. 7).
"""

from __future__ import annotations

from typing import Any, Optional

import math

import torch
from torch import nn

# diffusers is imported where a UNet (or a Fourier embedding) is built: importing it costs ~2-3 s
# of CPU per process, and the toy nets, whose jobs are most of the embedded default, never need it.


_FREQS: dict = {}  # (half, freq_shift, max_period, device) -> frequencies of sinusoidal_embedding


def sinusoidal_embedding(c_noise: torch.Tensor, dim: int, flip_sin_to_cos: bool, freq_shift: float,
                         max_period: float = 10000.0) -> torch.Tensor:
    """The sinusoidal features of diffusers' ``Timesteps`` (``get_timestep_embedding``), (B,) -> (B, dim), float32.

    Frequencies max_period^(-i / (dim/2 - freq_shift)), i < dim/2; [sin, cos] or, flipped, [cos, sin].
    Written out so the toy nets need no diffusers import; tests check it equals diffusers' output.
    """
    half = dim // 2
    key = (half, float(freq_shift), float(max_period), c_noise.device)
    freqs = _FREQS.get(key)
    if freqs is None:  # the same few tables every step: computed once per device, never as an inference
        with torch.inference_mode(False):  # tensor (a first call under inference_mode must not break training)
            freqs = _FREQS[key] = torch.exp(-math.log(max_period) * torch.arange(
                half, dtype=torch.float32, device=c_noise.device) / (half - freq_shift))
    args = c_noise.float()[:, None] * freqs[None, :]  # (B, half)
    emb = torch.cat([torch.cos(args), torch.sin(args)] if flip_sin_to_cos else [torch.sin(args), torch.cos(args)], -1)
    return nn.functional.pad(emb, (0, dim % 2))


class _EmbeddingMLP(nn.Module):
    """Linear -> SiLU -> Linear, named as diffusers' ``TimestepEmbedding`` (same state-dict keys and init order)."""

    def __init__(self, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, out_dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(out_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(x)))


class TimeEmbedding(nn.Module):
    """Sinusoidal (diffusers ``Timesteps``) or random-Fourier (diffusers ``GaussianFourierProjection``)
    features of c_noise, then an MLP."""

    def __init__(
        self, base_dim: int, out_dim: int, kind: str, flip_sin_to_cos: bool, freq_shift: float, fourier_scale: float
    ) -> None:
        super().__init__()
        self.kind, self.base_dim, self.flip_sin_to_cos, self.freq_shift = kind, base_dim, flip_sin_to_cos, freq_shift
        if kind == "positional":
            proj_dim = base_dim
        elif kind == "fourier":
            from diffusers.models.embeddings import GaussianFourierProjection

            # log=False: c_noise arrives already scaled by the time_input convention.
            self.proj = GaussianFourierProjection(base_dim // 2, scale=fourier_scale, log=False)
            proj_dim = 2 * (base_dim // 2)
        else:
            raise ValueError(f"unknown embedding_type {kind!r}; choose from ('positional', 'fourier')")
        self.mlp = _EmbeddingMLP(proj_dim, out_dim)

    def forward(self, c_noise: torch.Tensor) -> torch.Tensor:
        if self.kind == "positional":
            emb = sinusoidal_embedding(c_noise, self.base_dim, self.flip_sin_to_cos, self.freq_shift)
        else:
            emb = self.proj(c_noise.float())  # (B, proj_dim), float32 like diffusers
        return self.mlp(emb.to(self.mlp.linear_1.weight.dtype))  # (B, out_dim)


def batch_sigma(sigma: Any, x: torch.Tensor) -> torch.Tensor:
    """sigma as a float32 (B,) tensor on x's device: scalars are broadcast over the batch."""
    sigma = torch.as_tensor(sigma, device=x.device, dtype=torch.float32)
    return sigma.expand(x.shape[0]) if sigma.ndim == 0 else sigma.reshape(x.shape[0])


class UNetBackbone(nn.Module):
    """Adapter making ``UNet2DModel`` a backbone ``F(x_in, c_noise, labels) -> tensor shaped like x_in``."""

    def __init__(self, unet: nn.Module, in_channels: int) -> None:  # a diffusers UNet2DModel
        super().__init__()
        self.unet = unet
        self.in_channels = in_channels
        self.num_classes: Optional[int] = unet.config.num_class_embeds

    def forward(self, x_in: torch.Tensor, c_noise: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.num_classes is not None and labels is None:
            raise ValueError(f"this generator is class-conditional ({self.num_classes} classes): pass labels")
        # Labels of an unconditional net are ignored (data loaders may hand them over anyway).
        class_labels = labels if self.num_classes is not None else None
        out = self.unet(x_in, c_noise, class_labels=class_labels).sample  # (B, out_channels, H, W)
        # Nets with spare output channels (official CIFAR-10: 6) use only the last C.
        return out[:, -self.in_channels :] if out.shape[1] != self.in_channels else out


class ToyMLP(nn.Module):
    """Time-conditioned MLP for points in R^d: the embedding of c_noise is added before every SiLU.

    With ``out_dim=None`` it maps (B, d) -> (B, d) (a consistency backbone); with ``out_dim=1`` it is
    the body of the toy discriminator. ``time_conditioned=False`` drops the embedding (sigma ignored).
    """

    def __init__(
        self,
        in_channels: int = 2,
        hidden_dim: int = 256,
        num_layers: int = 4,
        embedding_dim: int = 64,
        embedding_type: str = "positional",
        fourier_scale: float = 1.0,
        dropout: float = 0.0,
        out_dim: Optional[int] = None,
        time_conditioned: bool = True,
    ) -> None:
        super().__init__()
        self.time_embed = (
            TimeEmbedding(embedding_dim, hidden_dim, embedding_type, True, 0, fourier_scale)
            if time_conditioned
            else None
        )
        dims = [in_channels] + [hidden_dim] * num_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, out_dim or in_channels)
        self.act = nn.SiLU()

    def features(self, x: torch.Tensor, c_noise: Optional[torch.Tensor]) -> torch.Tensor:
        emb = self.time_embed(c_noise) if self.time_embed is not None else 0.0  # (B, H)
        h = x
        for layer in self.layers:
            h = self.dropout(self.act(layer(h) + emb))  # (B, H)
        return self.out(h)

    def forward(self, x_in: torch.Tensor, c_noise: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.features(x_in, c_noise)  # (B, d); labels unused: toy data are unlabelled

"""ACT discriminators D(x, sigma, labels=None) -> (B,) logits (Kong et al., CVPR 2024).

The image discriminator is the down path plus middle block of a diffusers UNet2D, built
from diffusers' own blocks, then an adaptive 2x2 average pool and one linear layer, as in
the official ``models/discriminator_cifar10.py`` and ``models/discriminator_imagenet.py``.
It sees clean images (no c_in scaling) and is conditioned on sigma through the same time
embedding and ``time_input`` convention as the generator.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Optional, Sequence

import torch
from torch import nn

from act.networks.backbones import TimeEmbedding, ToyMLP, batch_sigma
from act.networks.presets import block_types
from act.parametrization import time_input


class ToyDiscriminator(nn.Module):
    """ACT discriminator for 2-D points: D(x, sigma) -> (B,) logits."""

    def __init__(self, time_input: str = "raw", time_conditioned: bool = True, **mlp: Any) -> None:
        super().__init__()
        self.time_input = time_input
        self.mlp = ToyMLP(out_dim=1, time_conditioned=time_conditioned, **mlp)

    def twice_differentiable(self) -> Any:
        """No attention here: every pass is twice differentiable."""
        return contextlib.nullcontext()

    def forward(self, x: torch.Tensor, sigma: Any, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        c_noise = time_input(batch_sigma(sigma, x), self.time_input) if self.mlp.time_embed is not None else None
        return self.mlp.features(x, c_noise).squeeze(-1)  # (B,)


class UNetDiscriminator(nn.Module):
    """ACT discriminator: UNet2D down path + middle block (diffusers blocks), pool to 2x2, linear logit.

    Sees clean images (no c_in scaling); sigma enters through the UNet time embedding of
    ``time_input(sigma)`` (raw sigma by default, as the official code), the class through
    an embedding added to it. Official head: CIFAR-10 GroupNorm + SiLU; ImageNet-64 and
    LSUN drop the GroupNorm but keep the SiLU.
    """

    def __init__(
        self,
        in_channels: int = 3,
        sample_size: int = 32,
        block_out_channels: Sequence[int] = (128, 256, 256, 256),
        layers_per_block: int = 3,
        down_block_types: Optional[Sequence[str]] = None,
        attention_resolutions: Optional[Sequence[int]] = (16,),
        attention_head_dim: Optional[int] = 8,
        norm_num_groups: int = 32,
        norm_eps: float = 1e-5,
        act_fn: str = "silu",
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        downsample_padding: int = 1,
        downsample_type: str = "conv",
        resnet_time_scale_shift: str = "default",
        mid_block_scale_factor: float = 1.0,
        add_attention: bool = True,
        dropout: float = 0.0,
        num_class_embeds: Optional[int] = None,
        final_norm: bool = False,
        time_conditioned: bool = True,
        time_input: str = "raw",
        unused_logit_head: bool = False,
    ) -> None:
        super().__init__()
        from diffusers.models.attention_processor import Attention, AttnProcessor, AttnProcessor2_0
        from diffusers.models.unets.unet_2d_blocks import UNetMidBlock2D, get_down_block

        if down_block_types is None:
            down_block_types, _ = block_types(sample_size, len(block_out_channels), attention_resolutions or ())
        if len(down_block_types) != len(block_out_channels):
            raise ValueError(f"{len(down_block_types)} down block types for {len(block_out_channels)} levels")
        self.time_input = time_input
        self.num_classes = num_class_embeds
        widths = list(block_out_channels)
        emb_dim = 4 * widths[0]  # the UNet2DModel convention
        self.time_embedding = (
            TimeEmbedding(widths[0], emb_dim, "positional", flip_sin_to_cos, freq_shift, 1.0)
            if time_conditioned
            else None
        )
        self.class_embedding = nn.Embedding(num_class_embeds, emb_dim) if num_class_embeds is not None else None
        # Without any conditioning the resnets get no time projection at all.
        temb = emb_dim if (time_conditioned or num_class_embeds is not None) else None

        self.conv_in = nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1)
        self.down_blocks = nn.ModuleList()
        for i, block_type in enumerate(down_block_types):
            self.down_blocks.append(
                get_down_block(
                    block_type,
                    num_layers=layers_per_block,
                    in_channels=widths[max(i - 1, 0)],
                    out_channels=widths[i],
                    temb_channels=temb,
                    add_downsample=i < len(widths) - 1,
                    resnet_eps=norm_eps,
                    resnet_act_fn=act_fn,
                    resnet_groups=norm_num_groups,
                    attention_head_dim=attention_head_dim if attention_head_dim is not None else widths[i],
                    downsample_padding=downsample_padding,
                    resnet_time_scale_shift=resnet_time_scale_shift,
                    downsample_type=downsample_type,
                    dropout=dropout,
                )
            )
        self.mid_block = UNetMidBlock2D(
            in_channels=widths[-1],
            temb_channels=temb,
            dropout=dropout,
            resnet_eps=norm_eps,
            resnet_act_fn=act_fn,
            output_scale_factor=mid_block_scale_factor,
            resnet_time_scale_shift=resnet_time_scale_shift,
            attention_head_dim=attention_head_dim if attention_head_dim is not None else widths[-1],
            resnet_groups=norm_num_groups,
            add_attention=add_attention,
        )
        # R1 differentiates D's input gradient once more, and the fused SDPA kernels (flash,
        # memory-efficient, CPU flash) have no double backward: the classic matmul-softmax
        # attention (the official code's, always) runs inside twice_differentiable() only, the
        # forward of R1's reals; every other pass takes diffusers' fused SDPA processor.
        self._attention = [m for m in self.modules() if isinstance(m, Attention)]
        self._processors = (AttnProcessor2_0, AttnProcessor)
        for m in self._attention:
            m.set_processor(AttnProcessor2_0())
        self.norm_out = nn.GroupNorm(norm_num_groups, widths[-1], eps=norm_eps) if final_norm else nn.Identity()
        self.act_out = nn.SiLU()
        self.pool = nn.AdaptiveAvgPool2d((2, 2))
        self.to_logit = nn.Linear(4 * widths[-1], 1)
        # The official model also builds a second, never-called logit layer (``to_logit_fx``,
        # 4C+1 parameters, counted in its reported sizes). Off by default: a parameter that never
        # gets a gradient forces DDP's find_unused_parameters and changes nothing else.
        self.unused_logit_head = nn.Linear(4 * widths[-1], 1) if unused_logit_head else None

    @contextlib.contextmanager
    def twice_differentiable(self) -> Iterator[None]:
        """Classic attention while active: for a forward whose graph is differentiated twice (R1)."""
        fused, classic = self._processors
        for m in self._attention:
            m.set_processor(classic())
        try:
            yield
        finally:
            for m in self._attention:
                m.set_processor(fused())

    def forward(self, x: torch.Tensor, sigma: Any, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        emb = None
        if self.time_embedding is not None:
            emb = self.time_embedding(time_input(batch_sigma(sigma, x), self.time_input))  # (B, E)
        if self.class_embedding is not None:
            if labels is None:
                raise ValueError(f"this discriminator is class-conditional ({self.num_classes} classes): pass labels")
            class_emb = self.class_embedding(labels).to(x.dtype)  # (B, E)
            emb = class_emb if emb is None else emb + class_emb
        h = self.conv_in(x)  # (B, C0, H, W)
        for block in self.down_blocks:
            h, _ = block(hidden_states=h, temb=emb)
        h = self.mid_block(h, emb)  # (B, C_last, H / 2^(L-1), W / 2^(L-1))
        h = self.pool(self.act_out(self.norm_out(h)))  # (B, C_last, 2, 2)
        return self.to_logit(h.flatten(1)).squeeze(-1)  # (B,)

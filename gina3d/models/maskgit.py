"""Stage 2: a bidirectional transformer over tri-plane token grids (MaskGIT), conditioned.

Input: a token grid [B,T] (T = 3*h*w, plane-major: token ``p*h*w + i*w + j`` is plane p,
row i, column j, as the stage-1 encoder and decoder lay it out) whose masked positions hold
the mask token ``K`` (one past the codebook). Each token's embedding gets a learned plane
embedding, the fixed 2-D sine-cosine code of its (row, column) and a learned 2-D position
embedding shared by the three planes. Condition tokens are prepended:

- class: a learned embedding per class (``gina3d.data.dataset.CLASSES``);
- size: an MLP of the log box dimensions (length, width, height in metres);
- time of day: a learned embedding per time (``TIMES_OF_DAY``);
- image: a small strided CNN over the input patch, downscaled to ``image_size`` pixels
  (cached with the tokens by ``gina3d encode``), giving ``(image_size/8)^2`` tokens. We use
  a separate encoder rather than stage 1's continuous latents: those are one quantisation
  away from the answer, so the model would learn to copy instead of to generate.

Each condition is switched on by a config flag and has a learned *null* embedding, used
where the condition is absent or dropped (condition dropout in training), which is what
classifier-free guidance contrasts against. The head predicts logits over the K codes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gina3d.models.io import load_weights, read_model_config
from gina3d.models.mask_schedule import decode
from gina3d.models.token_grid import group_tokens, token_cells, ungroup_tokens
from gina3d.models.transformer import Block, TriplaneEmbedding, init_linear, transformer_autocast

CONDITIONS = ("class", "size", "time", "image")


@dataclass
class MaskGITConfig:
    """Sizes and condition switches of the stage-2 MaskGIT transformer."""

    plane_tokens: int = 8
    """h = w of each plane's token grid (taken from the stage-1 run; T = 3*h*w)."""
    token_split: int = 1
    """The transformer works on cells of token_split x token_split tokens (taken from the
    stage-1 run): a cell's input is its tokens' embeddings concatenated, its output the
    logits of each of its tokens. Masking and decoding stay per token."""
    codebook_size: int = 512
    """K, codes of the stage-1 codebook (taken from the stage-1 run); K is the mask id."""
    width: int = 256
    """Transformer width D."""
    depth: int = 6
    """Bidirectional self-attention blocks."""
    heads: int = 8
    """Attention heads; ``width`` must be a multiple of it."""
    num_classes: int = 3
    """Object classes (``gina3d.data.dataset.CLASSES``)."""
    num_times: int = 3
    """Times of day (``gina3d.data.dataset.TIMES_OF_DAY``)."""
    use_class: bool = True
    """Condition on the object class."""
    use_size: bool = True
    """Condition on the box size in metres."""
    use_time: bool = True
    """Condition on the time of day."""
    use_image: bool = False
    """Condition on the input patch (downscaled to ``image_size``)."""
    image_size: int = 32
    """Side of the conditioning image in pixels (a multiple of 8)."""

    def validate(self) -> None:
        """Raise ValueError naming the first bad field."""
        positive = "plane_tokens token_split codebook_size width depth heads num_classes num_times"
        for name in positive.split():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"MaskGITConfig.{name} must be a positive integer, got {value!r}")
        if self.width % self.heads:
            raise ValueError(f"MaskGITConfig.width ({self.width}) must divide by heads")
        if self.plane_tokens % self.token_split:
            raise ValueError(
                f"MaskGITConfig.plane_tokens ({self.plane_tokens}) must be a multiple of "
                f"token_split ({self.token_split})"
            )
        if self.image_size < 8 or self.image_size % 8:
            raise ValueError(
                f"MaskGITConfig.image_size must be a multiple of 8, not {self.image_size}"
            )

    @property
    def num_tokens(self) -> int:
        """T = 3 * plane_tokens^2."""
        return 3 * self.plane_tokens**2

    @property
    def mask_id(self) -> int:
        """The mask token's id (= K)."""
        return self.codebook_size

    @property
    def enabled(self) -> tuple[str, ...]:
        """Names of the conditions this model reads, in prepend order."""
        flags = (self.use_class, self.use_size, self.use_time, self.use_image)
        return tuple(n for n, on in zip(CONDITIONS, flags) if on)


@dataclass
class Conditions:
    """A batch's conditions; a missing tensor means "null" for the whole batch.

    ``keep[name]`` [B] bool, when given, sets rows to null where False (condition dropout).
    """

    class_idx: Tensor | None = None
    """[B] long indices into CLASSES (-1 = null)."""
    size: Tensor | None = None
    """[B,3] box length, width, height in metres (> 0)."""
    time_idx: Tensor | None = None
    """[B] long indices into TIMES_OF_DAY (-1 = null)."""
    image: Tensor | None = None
    """[B,3,S,S] float in [0,1] (S = ``image_size``)."""
    keep: dict[str, Tensor] = field(default_factory=dict)
    """Per-condition [B] bool: False rows use the null embedding."""


class ImageEncoder(nn.Module):
    """Strided CNN: image [B,3,S,S] -> tokens [B,(S/8)^2,D]."""

    def __init__(self, image_size: int, width: int) -> None:
        super().__init__()
        c = max(width // 4, 16)
        self.net = nn.Sequential(
            nn.Conv2d(3, c, 4, 2, 1), nn.GELU(),
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.GELU(),
            nn.Conv2d(2 * c, width, 4, 2, 1),
        )  # fmt: skip
        n = (image_size // 8) ** 2
        self.pos = nn.Parameter(torch.randn(1, n, width) * 0.02)  # [1,n,D]

    def forward(self, image: Tensor) -> Tensor:
        x = self.net(image.float() * 2.0 - 1.0)  # [B,D,S/8,S/8]
        return x.flatten(2).transpose(1, 2) + self.pos  # [B,n,D]


class MaskGIT(nn.Module):
    """Token grid [B,T] (+ conditions) -> logits [B,T,K] (see the module docstring)."""

    def __init__(self, cfg: MaskGITConfig) -> None:
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        d, split = cfg.width, cfg.token_split
        g = cfg.plane_tokens // split  # cells per plane side
        self.token = nn.Embedding(cfg.codebook_size + 1, d)  # K codes + mask
        self.merge = nn.Linear(split * split * d, d) if split > 1 else None  # a cell's tokens
        self.plane_pos = TriplaneEmbedding(g, d)  # learned plane + fixed 2-D code
        self.grid_pos = nn.Parameter(torch.randn(1, 1, g * g, d) * 0.02)  # [1,1,g*g,D]
        self.null = nn.ParameterDict()
        if cfg.use_class:
            self.class_emb = nn.Embedding(cfg.num_classes, d)
            self.null["class"] = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        if cfg.use_size:
            self.size_mlp = nn.Sequential(nn.Linear(3, d), nn.GELU(), nn.Linear(d, d))
            self.null["size"] = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        if cfg.use_time:
            self.time_emb = nn.Embedding(cfg.num_times, d)
            self.null["time"] = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        if cfg.use_image:
            self.image_enc = ImageEncoder(cfg.image_size, d)
            n = (cfg.image_size // 8) ** 2
            self.null["image"] = nn.Parameter(torch.randn(1, n, d) * 0.02)
        self.kind = nn.Parameter(torch.randn(len(cfg.enabled) + 1, 1, d) * 0.02)  # [C+1,1,D]
        self.blocks = nn.ModuleList(Block(d, cfg.heads) for _ in range(cfg.depth))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, split * split * cfg.codebook_size)  # every token of a cell
        init_linear(self)
        self.cpu_bf16 = False  # bf16 autocast on a CPU (transformer.use_cpu_bf16)
        nn.init.normal_(self.token.weight, std=0.02)

    @classmethod
    def from_checkpoint(cls, ckpt: str | os.PathLike, device: str = "cpu") -> tuple[MaskGIT, dict]:
        """The MaskGIT of a stage-2 checkpoint directory, in eval mode on ``device``, and its
        saved config dict."""
        from gina3d.config import from_dict

        cfg = read_model_config(ckpt, "stage2")
        model = cls(from_dict(MaskGITConfig, cfg["model"]))
        load_weights(Path(ckpt), {"model": model})
        return model.to(device).eval(), cfg

    def _embed(self, name: str, cond: Conditions, b: int, device) -> Tensor:
        """One condition's tokens [B,n,D], null where absent or not kept."""
        null = self.null[name].expand(b, -1, -1)  # [B,n,D]
        valid = torch.ones(b, dtype=torch.bool, device=device)
        if name == "class" and cond.class_idx is not None:
            idx = cond.class_idx.to(device).long()  # [B]
            valid = idx >= 0
            x = self.class_emb(idx.clamp_min(0))[:, None]  # [B,1,D]
        elif name == "time" and cond.time_idx is not None:
            idx = cond.time_idx.to(device).long()  # [B]
            valid = idx >= 0
            x = self.time_emb(idx.clamp_min(0))[:, None]  # [B,1,D]
        elif name == "size" and cond.size is not None:
            size = cond.size.to(device).float()  # [B,3]
            valid = (size > 0).all(dim=1)
            x = self.size_mlp(size.clamp_min(1e-3).log())[:, None]  # [B,1,D]
        elif name == "image" and cond.image is not None:
            x = self.image_enc(cond.image.to(device))  # [B,n,D]
        else:
            return null
        if name in cond.keep:
            valid = valid & cond.keep[name].to(device)
        return torch.where(valid[:, None, None], x, null)  # [B,n,D]

    def condition_tokens(self, cond: Conditions | None, b: int, device) -> Tensor:
        """Prepended tokens [B,Nc,D] of the enabled conditions (Nc = 0 if none)."""
        cond = cond or Conditions()
        parts = [
            self._embed(name, cond, b, device) + self.kind[i]
            for i, name in enumerate(self.cfg.enabled)
        ]
        if not parts:
            return torch.zeros(b, 0, self.cfg.width, device=device)
        return torch.cat(parts, dim=1)  # [B,Nc,D]

    def embed_tokens(self, tokens: Tensor) -> Tensor:
        """Token ids [B,T] -> the transformer's cell inputs [B,Q,D] (Q = T / split^2).

        With cells of several tokens, ``merge(concat of the cell's token embeddings)`` is
        computed as a sum of per-place tables ``E @ W_j^T`` (W_j: the merge weights of place
        j) looked up by the tokens: the same linear map without the [B,T,D] embeddings and
        the large matrix product over them.
        """
        if self.merge is None:
            return self.token(tokens)  # [B,T,D]
        split, d = self.cfg.token_split, self.cfg.width
        s2, k1 = split * split, self.token.num_embeddings
        w = self.merge.weight.view(d, s2, d)  # [D_out, place, D_in]
        tables = torch.einsum("ki,oji->jko", self.token.weight, w).reshape(s2 * k1, d)
        b = tokens.shape[0]
        ids = group_tokens(tokens[..., None], split)  # [B,Q,s2]: the cell's token ids
        ids = ids + torch.arange(s2, device=tokens.device) * k1  # row of place j's table
        x = F.embedding_bag(ids.reshape(-1, s2), tables, mode="sum")  # [B*Q,D]
        return x.view(b, -1, d) + self.merge.bias

    def trunk(self, tokens: Tensor, cond: Conditions | None = None) -> Tensor:
        """tokens [B,T] long (mask id K where masked) -> normalised cell features [B,Q,D]."""
        cfg = self.cfg
        b, t = tokens.shape
        if t != cfg.num_tokens:
            raise ValueError(f"MaskGIT expects {cfg.num_tokens} tokens, got {t}")
        x = self.embed_tokens(tokens)  # [B,Q,D]
        q = x.shape[1]
        pos = self.plane_pos().view(1, 3, -1, cfg.width) + self.grid_pos  # [1,P,g*g,D]
        x = x + pos.reshape(1, q, cfg.width) + self.kind[-1]  # [B,Q,D]
        c = self.condition_tokens(cond, b, tokens.device)  # [B,Nc,D]
        x = torch.cat([c, x], dim=1)  # [B,Nc+T,D]
        with transformer_autocast(x, self.cpu_bf16):
            for block in self.blocks:
                x = block(x)
        return self.norm(x[:, c.shape[1] :].float())  # [B,Q,D]

    def forward(self, tokens: Tensor, cond: Conditions | None = None) -> Tensor:
        """tokens [B,T] long (mask id K where masked) -> logits [B,T,K] (fp32)."""
        return ungroup_tokens(self.head(self.trunk(tokens, cond)).float(), self.cfg.token_split)

    def masked_logits(
        self, tokens: Tensor, cond: Conditions | None, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Logits [M,K] of the M positions where ``mask`` [B,T] is True, and which flat
        position (``b * T + t``) each row is [M]: the rows of ``forward(tokens, cond)[mask]``
        (what the training loss reads), grouped by place in the cell, without the head's
        work on the other positions."""
        cfg = self.cfg
        x = self.trunk(tokens, cond)  # [B,Q,D]
        b, q, d = x.shape
        t, k = cfg.num_tokens, cfg.codebook_size
        s2 = cfg.token_split**2
        cell, place = (v.to(tokens.device) for v in token_cells(cfg.plane_tokens, cfg.token_split))
        weight, bias = self.head.weight.view(s2, k, d), self.head.bias.view(s2, k)
        rows, where = [], []
        for j in range(s2):
            flat = (mask & (place == j)[None]).flatten().nonzero()[:, 0]  # [M_j]
            cells = (flat // t) * q + cell[flat % t]  # rows of x.view(B*Q, D)
            rows.append(torch.addmm(bias[j], x.reshape(b * q, d)[cells], weight[j].T))
            where.append(flat)
        return torch.cat(rows).float(), torch.cat(where)


def guided_logits(
    model: MaskGIT, tokens: Tensor, cond: Conditions | None, guidance: float
) -> Tensor:
    """Classifier-free guidance: ``uncond + s * (cond - uncond)`` [B,T,K].

    ``s = 1`` is the plain conditional model, ``s = 0`` the unconditional one (every
    condition null); without conditions the model is called once.
    """
    if cond is None or guidance == 1.0:
        return model(tokens, cond)
    if guidance == 0.0:
        return model(tokens, None)
    b = tokens.shape[0]
    both = model(torch.cat([tokens, tokens]), _with_nulls(cond, b))  # [2B,T,K]
    c, u = both[:b], both[b:]
    return u + guidance * (c - u)


def guided_decode(
    model: MaskGIT,
    start: Tensor,
    cond: Conditions | None,
    guidance: float,
    steps: int,
    generator: torch.Generator,
    **decode_options,
) -> Tensor:
    """Iterative decoding (``mask_schedule.decode``) of every masked position of ``start``
    [B,T] with classifier-free-guided logits; ``decode_options`` go to ``decode``
    (temperature, choice_temperature, anneal, top_k). Returns [B,T] long on start's device."""
    return decode(
        lambda x: guided_logits(model, x, cond, guidance),
        start,
        model.cfg.mask_id,
        steps,
        generator,
        **decode_options,
    )


def _with_nulls(cond: Conditions, b: int) -> Conditions:
    """The batch twice: conditions as given, then every condition null."""

    def cat(x: Tensor | None) -> Tensor | None:
        return None if x is None else torch.cat([x, x])

    keep = {}
    for name in CONDITIONS:
        ones = cond.keep.get(name)
        ones = torch.ones(b, dtype=torch.bool) if ones is None else ones.cpu()
        keep[name] = torch.cat([ones, torch.zeros(b, dtype=torch.bool)])
    return Conditions(
        cat(cond.class_idx), cat(cond.size), cat(cond.time_idx), cat(cond.image), keep
    )

"""How much GPU memory each way of running Z-Image-Turbo needs, and which way fits.

Pure Python (no torch): `zimage-site generate --dry-run` plans a run on any machine.

Three routes, fastest first:

- `gpu`: the whole pipeline on the GPU (`pipe.to("cuda")`).
- `model-offload`: diffusers' `enable_model_cpu_offload()`: each network (text encoder,
  transformer, VAE) moves to the GPU while it runs and back to the CPU after it.
- `sequential-offload`: `enable_sequential_cpu_offload()`: each layer moves to the GPU only while
  it runs. The slowest by far; the last resort.

On the CPU there is no route to choose (`cpu`).

The estimate, from the configs in `model_configs/` (the model repository's own):

- Weights: the parameter count of each network, counted from its config (exact: the tests check
  it against the networks built on PyTorch's meta device), times the bytes of the dtype (bf16: 2).
- Activations, per image (batch B = 2 with classifier-free guidance, 1 at guidance 0; b bytes
  per value):
  - text encoder: the prompt is padded to T = 512 tokens and every hidden state is kept
    (`output_hidden_states=True`): B·T·b·((L+1)·H + 3·I + 6·H)  (L layers, hidden H,
    MLP width I).
  - transformer: one sequence of S = pad32(H/16 · W/16) image tokens + pad32(512) caption tokens;
    the largest live set inside a block is the residual stream, its norm, q/k/v, the attention
    output and the three MLP-wide tensors: B·S·b·(7·D + 3·F)  (dim D, MLP width F = 8/3·D).
    Attention runs through PyTorch SDPA (flash or memory-efficient kernels): memory linear in S.
  - VAE decoder: the peak is at full resolution, where the last upsampler and the first resnet of
    the last block hold tensors of 256 and 128 channels: W·H·b·(3·c1 + 2·c0)  (c0, c1 = the first
    two of `block_out_channels`, 128 and 256).
- Route peaks: `gpu` = all weights + the largest activation; `model-offload` = the largest
  (weights + activations) of one network; `sequential-offload` = the largest (one layer's weights
  + activations) of one network.
- Fit: a route fits when weights + 1.25 × activations + 1 GiB (CUDA workspaces, allocator
  fragmentation) is at most the free memory of the GPU (`torch.cuda.mem_get_info`).

`scripts/bench_routes.py` measures the real peaks on a GPU; docs/performance.md has both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

CONFIG_DIR = Path(__file__).with_name("model_configs")
GIB = 2**30
DTYPE_BYTES = {"bf16": 2, "fp32": 4}
ROUTES = ("gpu", "model-offload", "sequential-offload")  # fastest first
ROUTE_TEXT = {
    "gpu": "the whole pipeline on the GPU",
    "model-offload": "model CPU offload (one network on the GPU at a time)",
    "sequential-offload": "sequential CPU offload (one layer on the GPU at a time; slow)",
    "cpu": "the CPU",
}
ACTIVATION_FACTOR = 1.25
RESERVE_BYTES = 1 * GIB


@lru_cache(maxsize=None)
def load_config(name: str) -> dict:
    """One of the model configs kept in `model_configs/` (transformer, text_encoder, vae, pipeline)."""
    return json.loads((CONFIG_DIR / f"{name}.json").read_text(encoding="utf-8"))


def _pad(n: int, multiple: int) -> int:
    return n + (-n) % multiple


# --------------------------------------------------------------------------- parameter counts

def transformer_params(c: dict) -> tuple[int, int]:
    """(parameters, largest layer's parameters) of diffusers' ZImageTransformer2DModel."""
    d, hd = c["dim"], c["dim"] // c["n_heads"]
    ffn = int(c["dim"] / 3 * 8)
    ada = min(d, 256)
    attn = 4 * d * (hd * c["n_heads"]) + (2 * hd if c["qk_norm"] else 0)
    block = attn + 3 * d * ffn + 4 * d  # attention, SwiGLU MLP, four RMSNorms
    modulated = block + ada * 4 * d + 4 * d
    total = c["n_layers"] * modulated + c["n_refiner_layers"] * (modulated + block)
    for p, f in zip(c["all_patch_size"], c["all_f_patch_size"]):
        patch = f * p * p * c["in_channels"]
        total += patch * d + d  # x embedder
        total += d * patch + patch + ada * d + d  # final layer
    total += 256 * 1024 + 1024 + 1024 * ada + ada  # timestep embedder
    total += c["cap_feat_dim"] + c["cap_feat_dim"] * d + d  # caption embedder
    total += 2 * d  # x and caption pad tokens
    return total, d * ffn


def text_encoder_params(c: dict) -> tuple[int, int]:
    """(parameters, largest layer's parameters) of transformers' Qwen3Model (no LM head)."""
    h, i, hd = c["hidden_size"], c["intermediate_size"], c["head_dim"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    bias = 1 if c.get("attention_bias") else 0
    layer = h * q + 2 * h * kv + q * h + bias * (q + 2 * kv) + 2 * hd + 3 * h * i + 2 * h
    embed = c["vocab_size"] * h
    return embed + c["num_hidden_layers"] * layer + h, max(embed, h * i)


def vae_params(c: dict) -> tuple[int, int]:
    """(parameters, largest layer's parameters) of diffusers' AutoencoderKL."""
    def conv(i, o, k=3):
        return i * o * k * k + o

    def resnet(i, o):
        return 2 * i + conv(i, o) + 2 * o + conv(o, o) + (conv(i, o, 1) if i != o else 0)

    def mid(ch):
        attention = (4 * ch * ch + 4 * ch + 2 * ch) if c.get("mid_block_add_attention", True) else 0
        return 2 * resnet(ch, ch) + attention

    chans, lat, n = c["block_out_channels"], c["latent_channels"], c["layers_per_block"]
    # encoder
    total = conv(c["in_channels"], chans[0])
    prev = chans[0]
    for idx, ch in enumerate(chans):
        total += resnet(prev, ch) + (n - 1) * resnet(ch, ch)
        if idx < len(chans) - 1:
            total += conv(ch, ch)  # downsampler
        prev = ch
    total += mid(chans[-1]) + 2 * chans[-1] + conv(chans[-1], 2 * lat)
    # decoder
    total += conv(lat, chans[-1]) + mid(chans[-1])
    rev = list(reversed(chans))
    prev = rev[0]
    for idx, ch in enumerate(rev):
        total += resnet(prev, ch) + n * resnet(ch, ch)
        if idx < len(rev) - 1:
            total += conv(ch, ch)  # upsampler
        prev = ch
    total += 2 * chans[0] + conv(chans[0], c["out_channels"])
    if c.get("use_quant_conv", True):
        total += conv(2 * lat, 2 * lat, 1)
    if c.get("use_post_quant_conv", True):
        total += conv(lat, lat, 1)
    return total, conv(chans[-1], chans[-1])


# --------------------------------------------------------------------------- the estimate

@dataclass(frozen=True)
class Component:
    name: str  # transformer | text_encoder | vae
    params: int
    weight_bytes: int
    largest_layer_bytes: int
    activation_bytes: int


@dataclass(frozen=True)
class RouteEstimate:
    route: str
    weight_bytes: int  # on the GPU at the peak
    activation_bytes: int
    components: tuple[str, ...]  # the networks on the GPU at the peak

    @property
    def peak_bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes

    @property
    def needed_bytes(self) -> int:
        """The peak with the safety margin: what the GPU must have free."""
        return self.weight_bytes + int(ACTIVATION_FACTOR * self.activation_bytes) + RESERVE_BYTES


@dataclass(frozen=True)
class Estimate:
    width: int
    height: int
    batch: int
    dtype: str
    components: dict[str, Component]
    routes: dict[str, RouteEstimate]


NETWORKS = ("transformer", "text_encoder", "vae")


def model_configs(folder: Path | None = None) -> tuple[dict[str, dict], str]:
    """The configs of the three networks: from a diffusers model folder when it has them all,
    else the ones kept here (Z-Image-Turbo's). Returns (configs, where they come from)."""
    if folder is not None:
        try:
            found = {n: json.loads((folder / n / "config.json").read_text(encoding="utf-8")) for n in NETWORKS}
        except (OSError, ValueError):
            found = None
        if found is not None:
            try:  # a folder of another architecture: fall back to Z-Image-Turbo's
                transformer_params(found["transformer"])
                text_encoder_params(found["text_encoder"])
                vae_params(found["vae"])
            except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
                found = None
        if found is not None:
            return found, f"the configs in {folder}"
    return {n: load_config(n) for n in NETWORKS}, "Z-Image-Turbo's configs"


def components(width: int, height: int, dtype: str = "bf16", guidance: float = 0.0,
               configs: dict[str, dict] | None = None) -> dict[str, Component]:
    b = DTYPE_BYTES[dtype]
    batch = 2 if guidance > 0 else 1
    configs = configs or model_configs()[0]
    tr, te, vae = (configs[n] for n in NETWORKS)
    pipe = load_config("pipeline")
    tokens = pipe["max_sequence_length"]
    mult = pipe["seq_multi_of"]
    scale = pipe["vae_scale_factor"]

    tr_params, tr_layer = transformer_params(tr)
    patch = tr["all_patch_size"][0]
    image_tokens = (height // scale // patch) * (width // scale // patch)
    seq = _pad(image_tokens, mult) + _pad(tokens, mult)
    d, ffn = tr["dim"], int(tr["dim"] / 3 * 8)
    tr_act = batch * seq * b * (7 * d + 3 * ffn)

    te_params, te_layer = text_encoder_params(te)
    h, i = te["hidden_size"], te["intermediate_size"]
    te_act = batch * tokens * b * ((te["num_hidden_layers"] + 1) * h + 3 * i + 6 * h)

    vae_p, vae_layer = vae_params(vae)
    c0, c1 = vae["block_out_channels"][:2]
    vae_act = width * height * b * (3 * c1 + 2 * c0)

    return {
        "text_encoder": Component("text_encoder", te_params, te_params * b, te_layer * b, te_act),
        "transformer": Component("transformer", tr_params, tr_params * b, tr_layer * b, tr_act),
        "vae": Component("vae", vae_p, vae_p * b, vae_layer * b, vae_act),
    }


def estimate(width: int, height: int, dtype: str = "bf16", guidance: float = 0.0,
             configs: dict[str, dict] | None = None) -> Estimate:
    comps = components(width, height, dtype, guidance, configs)
    biggest_act = max(comps.values(), key=lambda c: c.activation_bytes)
    heaviest = max(comps.values(), key=lambda c: c.weight_bytes + c.activation_bytes)
    layer_peak = max(comps.values(), key=lambda c: c.largest_layer_bytes + c.activation_bytes)
    routes = {
        "gpu": RouteEstimate("gpu", sum(c.weight_bytes for c in comps.values()), biggest_act.activation_bytes,
                             tuple(comps)),
        "model-offload": RouteEstimate("model-offload", heaviest.weight_bytes, heaviest.activation_bytes,
                                       (heaviest.name,)),
        "sequential-offload": RouteEstimate("sequential-offload", layer_peak.largest_layer_bytes,
                                            layer_peak.activation_bytes, (layer_peak.name,)),
    }
    return Estimate(width, height, 2 if guidance > 0 else 1, dtype, comps, routes)


def estimate_for(sizes: list[tuple[int, int, float]], dtype: str = "bf16",
                 configs: dict[str, dict] | None = None) -> Estimate:
    """The estimate of a run: for each route, the largest over the images (width, height, guidance)."""
    if not sizes:
        sizes = [(1024, 1024, 0.0)]
    configs = configs or model_configs()[0]
    all_est = [estimate(w, h, dtype, g, configs) for w, h, g in dict.fromkeys(sizes)]
    worst = max(all_est, key=lambda e: e.routes["gpu"].needed_bytes)
    routes = {name: max((e.routes[name] for e in all_est), key=lambda r: r.needed_bytes) for name in ROUTES}
    return Estimate(worst.width, worst.height, worst.batch, dtype, worst.components, routes)


@dataclass(frozen=True)
class Choice:
    route: str
    reason: str
    forced: bool = False


def choose(est: Estimate, free_bytes: int | None, forced: str | None = None) -> Choice:
    """The fastest route whose estimate (with the margin) fits `free_bytes`; `forced` overrides."""
    if forced:
        need = est.routes[forced].needed_bytes
        note = ""
        if free_bytes is not None and need > free_bytes:
            note = f"; it may not fit: needs about {gib(need)} with the margin, {gib(free_bytes)} free"
        return Choice(forced, f"chosen with --route/--offload{note}", True)
    if free_bytes is None:
        return Choice("gpu", "free GPU memory unknown; the fastest route, assuming it fits "
                             f"(needs about {gib(est.routes['gpu'].needed_bytes)})")
    for name in ROUTES:
        need = est.routes[name].needed_bytes
        if need <= free_bytes:
            why = f"needs about {gib(need)} of {gib(free_bytes)} free"
            if name != ROUTES[0]:
                faster = ROUTES[ROUTES.index(name) - 1]
                why += f"; {faster} would need {gib(est.routes[faster].needed_bytes)}"
            return Choice(name, why)
    last = est.routes[ROUTES[-1]].needed_bytes
    return Choice(ROUTES[-1], f"even this needs about {gib(last)} and only {gib(free_bytes)} is free; "
                              "expect an out-of-memory error: use a smaller size or another GPU")


def gib(n: int, digits: int = 1) -> str:
    return f"{n / GIB:.{digits}f} GiB"


def table(est: Estimate, source: str = "Z-Image-Turbo's configs") -> list[str]:
    """The estimate as aligned text lines (for --dry-run and scripts)."""
    batch = " (batch 2: guidance > 0)" if est.batch == 2 else ""
    lines = [f"GPU memory estimate for {est.width}×{est.height}{batch}, {est.dtype}, from {source} "
             f"(weights counted, activations estimated):"]
    lines.append(f"  {'route':<20}{'weights':>11}{'activations':>13}{'peak':>11}{'with margin':>13}  on the GPU at the peak")
    for name in ROUTES:
        r = est.routes[name]
        lines.append(f"  {name:<20}{gib(r.weight_bytes, 2):>11}{gib(r.activation_bytes, 2):>13}"
                     f"{gib(r.peak_bytes, 2):>11}{gib(r.needed_bytes, 2):>13}  {', '.join(r.components)}")
    return lines

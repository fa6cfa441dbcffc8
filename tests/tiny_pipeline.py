"""A tiny, randomly initialised `ZImagePipeline` for tests and benchmarks.

TEST FIXTURE ONLY. The pipeline built here has the exact structure of Z-Image-Turbo (a Qwen3 text
encoder, a `ZImageTransformer2DModel`, a 16-channel `AutoencoderKL`, a flow-matching Euler
scheduler) but a few thousand random weights instead of six billion trained ones: its images are
noise. They are written to temporary folders only and must never enter the committed image store
(`images/`); `zimage-site generate` refuses to write into the site's store with a model whose
provenance says it is this fixture (see `zimage_site.images.generate`).

Everything is built offline, on the CPU, in well under a second:

    python tests/tiny_pipeline.py /tmp/tiny-zimage     # save a loadable model folder
    zimage-site generate --model /tmp/tiny-zimage --device cpu --root /tmp/site

`build_tiny_pipeline()` returns the pipeline object; `save_tiny_pipeline(path)` saves it with
`save_pretrained` so that the same loading code a user runs (`ZImagePipeline.from_pretrained`) is
exercised.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# The marker written into the saved model folder; the generator recognises it.
TINY_MARKER = "zimage-site-tiny-test-pipeline"

_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- if enable_thinking is defined and enable_thinking is false %}"
    "{{- '<think>\\n\\n</think>\\n\\n' }}"
    "{%- endif %}"
    "{%- endif %}"
)

_CORPUS = [
    "国风茶馆木质招牌，清晰写着「茗香」二字",
    "咖啡店门头招牌，用优雅金色字体写「晨间咖啡」",
    "小桥流水人家，孤帆远影碧空尽",
    "A cinematic photo of a corgi wearing a tiny scarf, soft window light",
    "product shot on a white background, studio lighting, 85mm",
    "<think>\n\n</think>\n\n user assistant",
]

_SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"]


def build_tokenizer():
    """A byte-level BPE tokenizer trained on a few zh/en strings, as a `Qwen2Tokenizer`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=_SPECIAL,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    vocab = tok.get_vocab()
    # tokenizers exposes the merges only through its JSON form
    merges = json.loads(tok.to_str())["model"]["merges"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ", 1)) for m in merges]
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        unk_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=_SPECIAL[1:],
    )
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def build_tiny_pipeline(seed: int = 0):
    """Build the tiny random pipeline (float32, CPU)."""
    import torch
    from diffusers import (AutoencoderKL, FlowMatchEulerDiscreteScheduler, ZImagePipeline,
                           ZImageTransformer2DModel)
    from transformers import Qwen3Config, Qwen3Model

    tokenizer = build_tokenizer()
    torch.manual_seed(seed)
    text_hidden = 32
    text_encoder = Qwen3Model(Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=text_hidden,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        head_dim=16,
        max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id,
    ))
    text_encoder.eval()

    torch.manual_seed(seed + 1)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=2,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        norm_eps=1e-5,
        qk_norm=True,
        cap_feat_dim=text_hidden,
        rope_theta=256.0,
        t_scale=1000.0,
        axes_dims=[4, 6, 6],
        axes_lens=[1024, 64, 64],
    )
    # The real model's gates are zero-initialised; give the random ones some weight so that the
    # transformer actually changes the latents (and so the prompt changes the pixels).
    with torch.no_grad():
        for name, p in transformer.named_parameters():
            if p.dim() >= 1 and torch.count_nonzero(p) == 0 and "norm" not in name:
                p.normal_(0, 0.02)

    torch.manual_seed(seed + 2)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 4,
        up_block_types=("UpDecoderBlock2D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=4,
        sample_size=64,
        scaling_factor=0.3611,
        shift_factor=0.1159,
    )
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=3.0,
                                                use_dynamic_shifting=False)
    return ZImagePipeline(scheduler=scheduler, vae=vae, text_encoder=text_encoder,
                          tokenizer=tokenizer, transformer=transformer)


def save_tiny_pipeline(path: Path | str, seed: int = 0) -> Path:
    """Save the tiny pipeline to `path` (a folder `ZImagePipeline.from_pretrained` can load)."""
    path = Path(path)
    pipe = build_tiny_pipeline(seed)
    pipe.save_pretrained(path)
    (path / TINY_MARKER).write_text(
        "This folder holds a tiny random ZImagePipeline built for tests. Its images are noise.\n",
        encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "tiny-zimage")
    save_tiny_pipeline(out)
    print(out)

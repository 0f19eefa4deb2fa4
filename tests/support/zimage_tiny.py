"""A tiny random-weight Z-Image pipeline, built in code (tests and ``bench/gpu_bench --tiny``).

Same classes and layout as the real Z-Image-Turbo (``ZImageTransformer2DModel``, a
Flux-style ``AutoencoderKL`` with 16 latent channels, a Qwen3 text encoder, a byte-level BPE
tokenizer with a chat template, ``FlowMatchEulerDiscreteScheduler``), at a size that runs in
milliseconds on a CPU. ``save_tiny_zimage(dir)`` writes it with ``save_pretrained`` so callers
load it back through the production loader (``GLOBALPIC_GENERATION__MODEL=dir``). Nothing is
downloaded. Needs the ``zimage`` extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Qwen3's chat markup, reduced to what ZImagePipeline's prompt encoding renders.
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def tiny_tokenizer() -> Any:
    """A byte-level BPE tokenizer without merges: every byte is a token, so any prompt in any
    language encodes (259 tokens with the specials)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<|endoftext|>",
        eos_token="<|im_end|>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_zimage_pipeline(seed: int = 0) -> Any:
    """A ``ZImageInpaintPipeline`` with tiny random weights (~1.5 MB, float32)."""
    import torch
    from diffusers import (
        AutoencoderKL,
        FlowMatchEulerDiscreteScheduler,
        ZImageInpaintPipeline,
        ZImageTransformer2DModel,
    )
    from transformers import Qwen3Config, Qwen3Model

    tokenizer = tiny_tokenizer()
    torch.manual_seed(seed)
    transformer = ZImageTransformer2DModel(
        all_patch_size=(2,),
        all_f_patch_size=(1,),
        in_channels=16,
        dim=32,
        n_layers=1,
        n_refiner_layers=1,
        n_heads=2,
        n_kv_heads=2,
        norm_eps=1e-5,
        qk_norm=True,
        cap_feat_dim=16,
        rope_theta=256.0,
        t_scale=1000.0,
        axes_dims=[8, 4, 4],
        axes_lens=[1024, 64, 64],  # like the real model: prompts up to ~1000 tokens
    )
    with torch.no_grad():  # created with torch.empty: give them defined values
        transformer.x_pad_token.fill_(1.0)
        transformer.cap_pad_token.fill_(1.0)
    vae = AutoencoderKL(
        in_channels=3,
        out_channels=3,
        down_block_types=["DownEncoderBlock2D"] * 2,
        up_block_types=["UpDecoderBlock2D"] * 2,
        block_out_channels=[8, 16],
        layers_per_block=1,
        latent_channels=16,
        norm_num_groups=8,
        sample_size=32,
        scaling_factor=0.3611,
        shift_factor=0.1159,
    )
    text_encoder = Qwen3Model(
        Qwen3Config(
            hidden_size=16,
            intermediate_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            head_dim=8,
            vocab_size=len(tokenizer),
            max_position_embeddings=512,
        )
    )
    return ZImageInpaintPipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        transformer=transformer,
    )


def save_tiny_zimage(directory: Path, seed: int = 0) -> Path:
    """Write the tiny pipeline to ``directory`` (``save_pretrained`` layout); returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    tiny_zimage_pipeline(seed).save_pretrained(str(directory))
    return directory

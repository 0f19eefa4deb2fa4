"""A test-size SAM (``sam_model_type = "tiny"``), built from segment-anything's own modules.

Same classes as ``vit_h`` / ``vit_l`` / ``vit_b`` (``ImageEncoderViT``, ``PromptEncoder``,
``MaskDecoder``, ``TwoWayTransformer``, ``Sam``) with small dimensions: a 128 px input, one
encoder block of width 16, a 32-wide prompt/mask decoder. Random weights run in milliseconds
on a CPU; ``save_tiny_sam(path)`` writes a checkpoint for the production loader.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

IMAGE_SIZE = 128
PATCH = 16
PROMPT_DIM = 32


def build_sam_tiny(checkpoint: str | None = None) -> Any:
    """The tiny ``Sam`` (random weights; ``checkpoint``: a state dict to load, as the
    segment-anything builders take it)."""
    import torch

    from globalpic_segmentation.sam import sam_module

    modeling = sam_module("modeling")
    ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer = (  # noqa: N806
        modeling.ImageEncoderViT,
        modeling.MaskDecoder,
        modeling.PromptEncoder,
        modeling.Sam,
        modeling.TwoWayTransformer,
    )

    grid = IMAGE_SIZE // PATCH
    sam = Sam(
        image_encoder=ImageEncoderViT(
            depth=1,
            embed_dim=16,
            img_size=IMAGE_SIZE,
            mlp_ratio=2,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=1,
            patch_size=PATCH,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=(0,),
            window_size=4,
            out_chans=PROMPT_DIM,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=PROMPT_DIM,
            image_embedding_size=(grid, grid),
            input_image_size=(IMAGE_SIZE, IMAGE_SIZE),
            mask_in_chans=4,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=1, embedding_dim=PROMPT_DIM, mlp_dim=64, num_heads=2
            ),
            transformer_dim=PROMPT_DIM,
            iou_head_depth=2,
            iou_head_hidden_dim=16,
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    )
    sam.eval()
    if checkpoint is not None:
        sam.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    return sam


def save_tiny_sam(path: Path, seed: int = 0) -> Path:
    """Write a random tiny SAM's state dict to ``path`` (a ``.pth`` checkpoint)."""
    import torch

    torch.manual_seed(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(build_sam_tiny().state_dict(), str(path))
    return path

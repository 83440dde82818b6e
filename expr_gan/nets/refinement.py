"""The report's image-refinement network (stage 2 of Ghodrati et al.'s two-step process)."""
from __future__ import annotations

import torch

from expr_gan.nets.encoder_decoder import EncoderDecoder


class RefinementNet(EncoderDecoder):
    """An encoder-decoder that sees (source, stage-1 output) stacked along channels.

    Same knobs as EncoderDecoder; by default the report's "minimal" norm sits after its second
    layer (minimal_index=1).
    """

    def __init__(self, minimal_index: int = 1, **kwargs):
        super().__init__(minimal_index=minimal_index, extra_inputs=1, **kwargs)

    def refine(self, source: torch.Tensor, coarse: torch.Tensor, onehot: torch.Tensor):
        """(refined image, encoder features) for the stacked input."""
        return self.forward_with_features(torch.cat([source, coarse], dim=1), onehot)

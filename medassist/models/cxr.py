"""The chest radiograph network: a compact residual CNN that trains from scratch on a CPU.

A strided stem and strided residual stages take the film down to a coarse map; the last stage
keeps that resolution and is Grad-CAM's layer. v2 takes 128 px to a 16x16 map with two strided
stages and two at full map resolution (a cell is 1/16 of the film's width, finer than a lobe);
v1 went down to 8x8. Three logits: normal, bacterial, viral
pneumonia; P(pneumonia) is the sum of the two pneumonia classes, so adult images labelled only
"pneumonia" (no subtype) can train the same head. ``forward_with_features`` exposes the film's
coarse layout and the pooled output of every stage for the input gate (multi-layer Mahalanobis
distance).
"""

from __future__ import annotations

import torch
from torch import nn

from medassist.models.architectures import register_architecture

CXR_CLASSES = ("normal", "bacterial", "viral")


class _ResidualBlock(nn.Module):
    """Two 3x3 convolutions with a projection shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=False)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class CXRNet(nn.Module):
    """Grayscale radiograph (N, 1, S, S), normalised as the card says -> 3 logits."""

    def __init__(
        self,
        widths: tuple[int, ...] = (16, 32, 64, 128, 192),
        strides: tuple[int, ...] = (2, 2, 2, 1),
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        w = list(widths)
        if len(strides) != len(w) - 1:
            raise ValueError(f"{len(w) - 1} residual stages need as many strides, got {len(strides)}")
        self.stem = nn.Sequential(nn.Conv2d(1, w[0], 3, 2, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU())
        self.stages = nn.ModuleList([_ResidualBlock(w[i], w[i + 1], s) for i, s in enumerate(strides)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(w[-1], len(CXR_CLASSES))

    @property
    def cam_layer(self) -> nn.Module:
        """The last convolutional stage: what Grad-CAM attributes."""
        return self.stages[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
        return self.head(self.dropout(torch.flatten(self.pool(x), 1)))

    def forward_with_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits plus the gate's features: the film's coarse layout, then every stage's spatial
        mean and standard deviation."""
        feats = [_layout(x)]
        x = self.stem(x)
        feats.append(_pooled_stats(x))
        for stage in self.stages:
            x = stage(x)
            feats.append(_pooled_stats(x))
        logits = self.head(self.dropout(torch.flatten(self.pool(x), 1)))
        return logits, feats


# 0.02 of the [0, 1] brightness range in the network's normalised units (std 0.25): keeps flat images finite
_LAYOUT_EPS = 0.08


def _layout(x: torch.Tensor, cells: int = 8) -> torch.Tensor:
    """The input's brightness on a coarse grid, standardised per image: a chest film's layout (spine
    and mediastinum in the middle, lungs either side, diaphragm below) survives the contrast, haze
    and devices of a portable film, while photographs and documents are laid out otherwise."""
    grid = nn.functional.adaptive_avg_pool2d(x, cells).flatten(1)
    centred = grid - grid.mean(1, keepdim=True)
    return centred / (grid.std(1, keepdim=True, unbiased=False) + _LAYOUT_EPS)


def _pooled_stats(x: torch.Tensor) -> torch.Tensor:
    flat = x.flatten(2)
    return torch.cat([flat.mean(2), flat.std(2)], dim=1)


@register_architecture("cxr-resnet-small")
def build_cxr_net(
    widths: list[int] | None = None, strides: list[int] | None = None, dropout: float = 0.2
) -> CXRNet:
    return CXRNet(tuple(widths) if widths else (16, 32, 64, 128, 192), tuple(strides) if strides else (2, 2, 2, 1),
                  dropout)

"""The chest radiograph network: a compact residual CNN that trains from scratch on a CPU.

A strided stem and three strided stages take 128 px to an 8x8 map (about 80 M multiply-adds
per image); the last stage keeps that resolution, so Grad-CAM on it localises to 1/16 of the film. Three logits: normal, bacterial, viral
pneumonia; P(pneumonia) is the sum of the two pneumonia classes, so adult images labelled only
"pneumonia" (no subtype) can train the same head. ``stage_features`` exposes the pooled output
of every stage for the input gate (multi-layer Mahalanobis distance).
"""

from __future__ import annotations

import torch
from torch import nn

from medassist.inference.architectures import register_architecture

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

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128, 192), dropout: float = 0.2) -> None:
        super().__init__()
        w = list(widths)
        self.stem = nn.Sequential(nn.Conv2d(1, w[0], 3, 2, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU())
        self.stages = nn.ModuleList(
            [
                _ResidualBlock(w[0], w[1], 2),
                _ResidualBlock(w[1], w[2], 2),
                _ResidualBlock(w[2], w[3], 2),
                _ResidualBlock(w[3], w[4], 1),
            ]
        )
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
        """Logits plus every stage's spatial mean and standard deviation (the gate's features)."""
        feats = []
        x = self.stem(x)
        feats.append(_pooled_stats(x))
        for stage in self.stages:
            x = stage(x)
            feats.append(_pooled_stats(x))
        logits = self.head(self.dropout(torch.flatten(self.pool(x), 1)))
        return logits, feats


def _pooled_stats(x: torch.Tensor) -> torch.Tensor:
    flat = x.flatten(2)
    return torch.cat([flat.mean(2), flat.std(2)], dim=1)


@register_architecture("cxr-resnet-small")
def build_cxr_net(widths: list[int] | None = None, dropout: float = 0.2) -> CXRNet:
    return CXRNet(tuple(widths) if widths else (16, 32, 64, 128, 192), dropout)

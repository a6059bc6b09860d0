"""IGCV1 networks and their dense baselines in PyTorch, written from IGC_SPEC.md ("IGCV1") alone,
for crosscheck.py. Module paths equal the .NET engine's parameter names (stem.conv.weight,
stages.1.blocks.0.first.primary.weight, ...), so our checkpoints load by name.

IGC unit: 3x3 conv, L groups (primary) -> P(L) -> 1x1 conv, M' groups (secondary) -> P(M') -> BN
(-> ReLU); P(G) the interleave out[:, j*G+g] = in[:, g*(C/G)+j]. BN eps 2e-5. BN momentum, which
the spec leaves open, follows the MXNet code as our engine does (0.99 plain, 0.9 ResNets, i.e.
PyTorch's 0.01 and 0.1)."""
import torch.nn as nn
import torch.nn.functional as F

from side_by_side import shuffle

EPS = 2e-5


class ConvBn(nn.Module):
    """conv -> BN (-> ReLU) (-> 3x3/2 max pool, the ImageNet stem)."""

    def __init__(self, cin, cout, k, stride, groups, relu, momentum, pool=False):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=EPS, momentum=momentum)
        self.relu, self.pool = relu, pool

    def forward(self, x):
        x = self.bn(self.conv(x))
        x = F.relu(x) if self.relu else x
        return F.max_pool2d(x, 3, 2, 1) if self.pool else x


class IgcUnit(nn.Module):
    def __init__(self, cin, cout, stride, primary, secondary, relu, momentum):
        super().__init__()
        self.primary = nn.Conv2d(cin, cout, 3, stride, 1, groups=primary, bias=False)
        self.secondary = nn.Conv2d(cout, cout, 1, groups=secondary, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=EPS, momentum=momentum)
        self.groups, self.relu = (primary, secondary), relu

    def forward(self, x):
        l, m = self.groups
        x = self.primary(x)
        x = shuffle(x, l) if l > 1 else x
        x = self.secondary(x)
        x = shuffle(x, m) if m > 1 else x
        x = self.bn(x)
        return F.relu(x) if self.relu else x


def unit(cin, cout, stride, primary, secondary, igc, relu, momentum):
    if igc:
        return IgcUnit(cin, cout, stride, primary, secondary, relu, momentum)
    return ConvBn(cin, cout, 3, stride, 1, relu, momentum)


class Residual(nn.Module):
    """[unit -> BN -> ReLU] -> [unit -> BN] + shortcut -> ReLU."""

    def __init__(self, first, second, shortcut):
        super().__init__()
        self.first, self.second = first, second
        if shortcut is not None:
            self.shortcut = shortcut

    def forward(self, x):
        skip = self.shortcut(x) if hasattr(self, "shortcut") else x
        return F.relu(self.second(self.first(x)) + skip)


class Stage(nn.Module):
    def __init__(self, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return x


class Network(nn.Module):
    def __init__(self, stem, stages, width, classes):
        super().__init__()
        self.stem, self.stages = stem, nn.ModuleList(stages)
        self.classifier = nn.Linear(width, classes)

    def forward(self, x):
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
        return self.classifier(x.mean((2, 3)))


def plain(depth, c, primary, secondary, igc, classes):
    """plain_igc(depth, L, M) (igc) or the dense plain net: stem 3x3 -> c; 3 stages of
    (depth-2)/3 units at widths c, 2c, 4c, stride 2 entering stages 2 and 3."""
    momentum, units = 0.01, (depth - 2) // 3
    stem = ConvBn(3, c, 3, 1, 1, True, momentum)
    stages, cin = [], c
    for s in range(3):
        width, blocks = c << s, []
        for _ in range(units):
            blocks.append(unit(cin, width, 1 if cin == width else 2, primary, secondary << s, igc, True, momentum))
            cin = width
        stages.append(Stage(blocks))
    return Network(stem, stages, cin, classes)


def resnet(table, stem, igc, secondary_first, classes):
    """ResNets of (width, blocks, stride, primary) stages; the first unit's secondary groups
    secondary_first(cin, cout, L), the second's cout/L; a projection shortcut (1x1, primary
    groups, + BN) where the width or the stride changes."""
    momentum, stages, cin = 0.1, [], stem.conv.out_channels
    for width, count, stride, primary in table:
        blocks = []
        for i in range(count):
            st = stride if i == 0 else 1
            p = primary if igc else 1
            first = unit(cin, width, st, p, secondary_first(cin, width, primary) if igc else 1, igc, True, momentum)
            second = unit(width, width, 1, p, width // primary if igc else 1, igc, False, momentum)
            shortcut = None if cin == width and st == 1 else ConvBn(cin, width, 1, st, p, False, momentum)
            blocks.append(Residual(first, second, shortcut))
            cin = width
        stages.append(Stage(blocks))
    return Network(stem, stages, cin, classes)


def build(network, classes=10, depth=20, l=2, m=8, width=None):
    if network == "plain-igc":
        return plain(depth, l * m, l, m, True, classes)
    if network == "plain":
        return plain(depth, width or 16, 1, 1, False, classes)
    if network in ("resnet-igc", "resnet"):
        c = l * m if network == "resnet-igc" else (width or 16)
        table = [(c << s, (depth - 2) // 6, 1 if s == 0 else 2, l) for s in range(3)]
        return resnet(table, ConvBn(3, c, 3, 1, 1, True, 0.1), network == "resnet-igc", lambda cin, cout, p: cin // p, classes)
    if network in ("resnet-igc-imagenet-d18", "resnet-imagenet-d18"):
        igc = network == "resnet-igc-imagenet-d18"
        c = l * m if igc else (width or 64)
        table = [((2 * c if igc else c) << s, 2, 1 if s == 0 else 2, l << s) for s in range(4)]
        return resnet(table, ConvBn(3, c, 7, 2, 1, True, 0.1, pool=True), igc, lambda cin, cout, p: cout // p, classes)
    raise ValueError(f"not an IGCV1-family network: {network}")

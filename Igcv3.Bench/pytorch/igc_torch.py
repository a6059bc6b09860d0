"""IGCV1 networks and their dense baselines, and IGCV2 in the MobileNetV2 backbone, in PyTorch,
written from IGC_SPEC.md ("IGCV1", "IGCV2") alone, for crosscheck.py. Module paths equal the .NET engine's parameter names (stem.conv.weight,
stages.1.blocks.0.first.primary.weight, ...), so our checkpoints load by name.

IGC unit: 3x3 conv, L groups (primary) -> P(L) -> 1x1 conv, M' groups (secondary) -> P(M') -> BN
(-> ReLU); P(G) the interleave out[:, j*G+g] = in[:, g*(C/G)+j]. BN eps 2e-5. BN momentum, which
the spec leaves open, follows the MXNet code as our engine does (0.99 plain, 0.9 ResNets, i.e.
PyTorch's 0.01 and 0.1)."""
import torch.nn as nn
import torch.nn.functional as F

import sbs_core as core
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


class Igcv2Block(nn.Module):
    """IGCV2 (our construction, IGC_SPEC.md): W = P_L W_L ... P_2 W_2 W_1 with W_1 a 3x3 depthwise
    conv (-> BN -> ReLU6), W_l 1x1 group convs with K_l input channels per group (Cin/K_l groups),
    each P_l the interleave over the previous conv's group count, prod K_l = Cin; -> BN; + x."""

    def __init__(self, cin, cout, stride, channels_per_group, shortcut):
        super().__init__()
        product = 1
        for k in channels_per_group:
            product *= k
        assert product == cin, f"complementary condition: prod K_l = {product}, Cin = {cin}"
        self.dw = nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False)
        self.dw_bn = nn.BatchNorm2d(cin)
        self.groups = [cin // k for k in channels_per_group]
        outs = [cin] * (len(self.groups) - 1) + [cout]
        self.mix = nn.ModuleList(nn.Conv2d(cin, o, 1, groups=g, bias=False) for g, o in zip(self.groups, outs))
        self.mix_bn = nn.BatchNorm2d(cout)
        self.shortcut = shortcut

    def forward(self, x):
        h = F.relu6(self.dw_bn(self.dw(x)))
        for i, conv in enumerate(self.mix):
            h = conv(h)
            if i < len(self.mix) - 1 and self.groups[i] > 1:
                h = shuffle(h, self.groups[i])  # P_{l+1}: interleave the groups just formed
        h = self.mix_bn(h)
        return h + x if self.shortcut else h


class Igcv2Network(nn.Module):
    """IGCV2 blocks in the MobileNetV2 backbone: MobileNetV2's stem, block widths, strides and
    shortcuts (from sbs_core.plan), head 1x1 conv -> 1280 -> BN -> ReLU6, pool, FC."""

    def __init__(self, cifar, classes, group_sizes):
        super().__init__()
        layers = core.plan("mobilenetv2", cifar=cifar, classes=classes)
        by_name = {l["name"]: l for l in layers}
        stem = by_name["stem.conv"]
        self.stem = ConvBnRelu6(3, stem["cout"], 3, stem["stride"])
        blocks = {}
        for l in layers:
            if l.get("block"):
                blocks.setdefault(l["block"], []).append(l)
        self.stages = nn.ModuleList()
        for path, ls in blocks.items():
            s, i = int(path.split(".")[1]), int(path.split(".")[3])
            kinds = {l["name"].rsplit(".", 1)[1]: l for l in ls}
            cin = kinds["expand"]["cin"] if "expand" in kinds else kinds["dw"]["c"]
            block = Igcv2Block(cin, kinds["project"]["cout"], kinds["dw"]["stride"], group_sizes[path], bool(kinds["project_bn"].get("residual")))
            if s == len(self.stages):
                self.stages.append(Stage([]))
            self.stages[s].blocks.append(block)
            assert len(self.stages[s].blocks) == i + 1
        head = by_name["head.conv"]
        self.head = ConvBnRelu6(head["cin"], head["cout"], 1, 1)
        self.classifier = nn.Linear(head["cout"], classes)

    def forward(self, x):
        x = self.stem(x)
        for s in self.stages:
            x = s(x)
        return self.classifier(self.head(x).mean((2, 3)))


class ConvBnRelu6(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu6(self.bn(self.conv(x)))


def igcv2_group_sizes(weights):
    """K_2..K_L of every block, read off our checkpoint's mix.l weights ([outs, K_l]): the factors
    are a construction choice (IGC_SPEC.md leaves them open); what they mean is built here."""
    sizes = {}
    for name, w in weights.items():
        if ".mix." in name and name.endswith(".weight"):
            block, index = name.split(".mix.")[0], int(name.split(".mix.")[1].split(".")[0])
            sizes.setdefault(block, {})[index] = w.shape[1]
    return {b: [k[i] for i in sorted(k)] for b, k in sizes.items()}


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
    raise ValueError(f"not an IGCV1-family network: {network} (IGCV2: Igcv2Network)")

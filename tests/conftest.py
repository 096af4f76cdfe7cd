"""Shared fixtures and paths; the official-format FishNet weights filled by
a fixed recipe and the official model's reference outputs computed with
them come from :mod:`mmfishnet.converters.reference`."""
import copy
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from filelock import FileLock

from mmfishnet.converters.reference import deterministic_official_state

REPO = Path(__file__).parent.parent
TINY_COCO = REPO.parent / 'shared' / 'data' / 'tiny_coco'
CAMVID = REPO.parent / 'shared' / 'data' / 'camvid'
# the recommended CamVid config, which most segmentation tests build
CAMVID_CONFIG = (
    REPO / 'configs' / 'fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py')

CONVERTER = REPO / 'tools' / 'model_converters' / 'fishnet2mmpretrain.py'


@functools.lru_cache(maxsize=None)
def _loaded_config(path: str):
    from mmengine.config import Config
    return Config.fromfile(path)


def load_config(path):
    """``Config.fromfile(path)``, parsed once per test run: a copy of it,
    which the caller may change."""
    return copy.deepcopy(_loaded_config(str(path)))


def save_official(path, state, arch='fishnet99'):
    """An official ``*_ckpt.tar``: DataParallel keys inside ``state_dict``."""
    torch.save(
        dict(
            epoch=100,
            arch=arch,
            state_dict={
                f'module.{k}': v
                for k, v in state.items()
            },
            best_prec1=torch.tensor(77.41),
            optimizer=dict(state={}, param_groups=[dict(lr=0.001)])), path)


def convert(src, dst, *extra, subprocess_run=False):
    """The converter CLI on ``src`` -> ``dst``: returncode, stdout and
    stderr. In this process (its ``main``; an exit message goes to stderr,
    as Python prints it), or as a separate command with
    ``subprocess_run``."""
    argv = [str(src), str(dst), *extra]
    if subprocess_run:
        return subprocess.run(
            [sys.executable, str(CONVERTER), *argv],
            capture_output=True,
            text=True)
    import contextlib
    import io
    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            load_tool(CONVERTER).main(argv)
        except SystemExit as e:
            if isinstance(e.code, str):
                print(e.code, file=sys.stderr)
                code = 1
            else:
                code = e.code or 0
    return subprocess.CompletedProcess(argv, code, out.getvalue(),
                                       err.getvalue())


def convert_official_fishnet99(tmp_path, with_num_batches_tracked=False):
    """Write an official FishNet-99 file and convert it with the CLI."""
    state = deterministic_official_state('fishnet99', with_num_batches_tracked)
    src, dst = tmp_path / 'fishnet99_ckpt.tar', tmp_path / 'fishnet99.pth'
    save_official(src, state)
    result = convert(src, dst)
    assert result.returncode == 0, result.stderr
    return state, torch.load(dst, weights_only=False)


def tiny_coco_available():
    return (TINY_COCO / 'annotations' / 'instances_val2017.json').is_file()


def pytest_collection_modifyitems(items):
    """Heavy tests first: with parallel workers (tools/run_tests.sh) the
    long ones overlap at the start instead of ending the run alone."""
    items.sort(key=lambda item: item.get_closest_marker('heavy') is None)


def made_once(tmp_path_factory, name: str, make) -> Path:
    """The folder ``name``, filled by ``make(folder)`` once per test run.

    Under pytest-xdist the workers share it: the first to ask makes it while
    holding a file lock, the others wait and read it (a session fixture
    alone runs once per worker: an ONNX export or a training run repeated
    on every worker). ``make`` must write deterministic results, since the
    worker that made them is not the one that reads them.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get('PYTEST_XDIST_WORKER'):
        root = root.parent  # the run's folder, above the workers' own
    folder = root / f'made_once_{name}'
    with FileLock(f'{folder}.lock'):
        done = folder / '.complete'
        if not done.is_file():
            folder.mkdir(exist_ok=True)
            make(folder)
            done.touch()
    return folder


@pytest.fixture
def tiny_coco():
    if not tiny_coco_available():
        pytest.skip(f'tiny_coco not found at {TINY_COCO}')
    return TINY_COCO


def write_object_crops(root,
                       num_classes=5,
                       train_per_class=4,
                       val_per_class=2):
    """An ImageNet-style folder dataset (root/{train,val}/<class>/*.jpg) of
    real object crops: the largest COCO boxes of the ``num_classes`` most
    frequent categories of tiny_coco."""
    import cv2
    crops = {}
    for split in ('train2017', 'val2017'):
        with open(TINY_COCO / 'annotations' / f'instances_{split}.json') as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        files = {i['id']: i['file_name'] for i in coco['images']}
        for ann in coco['annotations']:
            x, y, w, h = ann['bbox']
            if min(w, h) >= 32 and not ann['iscrowd']:
                crops.setdefault(names[ann['category_id']], []).append(
                    (w * h, split, files[ann['image_id']], (x, y, w, h)))
    per_class = train_per_class + val_per_class
    chosen = sorted((c for c in crops if len(crops[c]) >= per_class),
                    key=lambda c: -len(crops[c]))[:num_classes]
    for name in chosen:
        boxes = sorted(crops[name], reverse=True)[:per_class]
        for i, (_, split, file, (x, y, w, h)) in enumerate(boxes):
            img = cv2.imread(str(TINY_COCO / split / file))
            crop = img[int(y):int(y + h), int(x):int(x + w)]
            folder = root / ('train' if i < train_per_class else 'val') / name
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f'{i}.jpg'), crop)
    return sorted(chosen)


def write_pattern_dataset(root, per_class=16, size=64, seed=0):
    """A learnable folder dataset of four texture classes with random colours,
    phases and noise: horizontal and vertical stripes, checkerboard, disc."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    classes = {
        'horizontal':
        lambda p: (yy + p) // 6 % 2,
        'vertical':
        lambda p: (xx + p) // 6 % 2,
        'checker':
        lambda p: ((xx + p) // 8 + (yy + p) // 8) % 2,
        'disc':
        lambda p: ((xx - size / 2 - p / 4)**2 + (yy - size / 2)**2 <
                   (size / 3)**2),
    }
    for name, pattern in classes.items():
        folder = root / 'train' / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            mask = pattern(int(rng.integers(0, 12)))[..., None]
            fg, bg = rng.integers(0, 256, (2, 3))
            img = np.where(mask, fg, bg) + rng.normal(0, 20, (size, size, 3))
            cv2.imwrite(
                str(folder / f'{i}.png'),
                np.clip(img, 0, 255).astype(np.uint8))
    return sorted(classes)


@pytest.fixture(autouse=True)
def restore_default_scope():
    """Each test starts from the default scope the previous one found: a
    Runner makes its scope (often 'mmengine') the current one for the rest
    of the process, which made some tests depend on the order they ran in."""
    from mmengine.registry import DefaultScope
    before = dict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict.clear()
    DefaultScope._instance_dict.update(before)


@pytest.fixture(autouse=True)
def no_process_patch_left_on():
    """A Runner that raises never calls ``after_run``, so the hooks of a
    test that expects an error leave their changes on: undo them."""
    from mmfishnet.checkpoint import atomic_saving, safe_loading
    from mmfishnet.engine import mmcv_op_guard
    yield
    for patch in (safe_loading, atomic_saving, mmcv_op_guard):
        patch.reset()


@pytest.fixture
def mmpretrain_scope():
    """Build in mmpretrain's default scope. Its heads build their losses
    through a registry that follows mmengine's default scope, which a Runner
    of an earlier test leaves at 'mmengine'."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def zoo_config(toolbox: str, path: str) -> str:
    """The file of ``path`` (``'fcn/fcn_r50-d8_...py'``) in the model zoo
    that ships inside the installed ``toolbox`` (mmdet, mmseg,
    mmpretrain)."""
    import importlib
    module = importlib.import_module(toolbox)
    return str(Path(module.__file__).parent / '.mim' / 'configs' / path)


def run_tool_main(tool: Path, argv, monkeypatch):
    """A script of tools/ run in this process: its ``main()`` with
    ``sys.argv`` = ``[tool, *argv]`` and tools/ importable, as ``python
    tools/<script>.py ...`` has it; the environment variables it sets are
    undone afterwards."""
    monkeypatch.syspath_prepend(str(tool.parent))
    monkeypatch.setattr(sys, 'argv', [str(tool), *map(str, argv)])
    environ = dict(os.environ)
    try:
        return load_tool(tool).main()
    finally:
        os.environ.clear()
        os.environ.update(environ)


def load_tool(path: Path):
    """The module of a script under tools/, imported from its file, with
    its folder importable as ``python tools/<script>.py`` has it."""
    import importlib.util
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

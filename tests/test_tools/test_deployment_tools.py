"""tools/deployment: pytorch2onnx.py end to end, the torch-free
onnx_classify.py / onnx_segment.py on real CIFAR-10 and CamVid images (in a
process where importing torch fails), and their agreement with PyTorch."""
import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO, load_tool, made_once
from PIL import Image
from test_deployment.conftest import (CAMVID_CONFIG, build_with_weights,
                                      require_onnx_export, save_checkpoint,
                                      small_config)

require_onnx_export()

TOOLS = REPO / 'tools' / 'deployment'
SHARED = REPO.parent / 'shared' / 'data'
CIFAR = SHARED / 'cifar10' / 'test_1017.npz'
CAMVID = SHARED / 'camvid'

# the CIFAR-10 classifier as it classifies image files (BGR, to_rgb=True)
FILE_CLASSIFIER = """
_base_ = '{base}'
model = dict(backbone=dict(widen_factor=0.25), head=dict(in_channels=528))
data_preprocessor = dict(to_rgb=True)
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
"""


def deployment_tool(name):
    sys.path.insert(0, str(TOOLS))
    return load_tool(TOOLS / f'{name}.py')


def run_without_torch(script, *args):
    """Run a tools/deployment script where ``import torch`` fails."""
    code = ('import runpy, sys; sys.modules["torch"] = None; '
            f'sys.path.insert(0, {str(TOOLS)!r}); '
            f'sys.argv = [{str(script)!r}] + sys.argv[1:]; '
            f'runpy.run_path({str(script)!r}, run_name="__main__")')
    return subprocess.run([sys.executable, '-c', code, *map(str, args)],
                          capture_output=True,
                          text=True,
                          cwd=REPO)


def export_cifar_classifier(folder):
    """The CIFAR-10 classifier of image files (random weights), its
    checkpoint, its ONNX file through pytorch2onnx.py (what it printed in
    ``export.txt``) and 300 real test images as PNG files, in ``folder``."""
    from mmengine.config import Config
    config = folder / 'fishnet_cifar_files.py'
    config.write_text(
        FILE_CLASSIFIER.format(base=REPO / 'configs' /
                               'fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py'))
    cfg = Config.fromfile(config)
    cfg.model.setdefault('data_preprocessor', cfg.data_preprocessor)
    checkpoint = save_checkpoint(
        build_with_weights(cfg), folder / 'classifier.pth')
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        deployment_tool('pytorch2onnx').main([
            str(config), checkpoint, '--out',
            str(folder / 'classifier.onnx'), '--shape', '32', '32', '--dynamic'
        ])
    (folder / 'export.txt').write_text(printed.getvalue())
    for i, image in enumerate(np.load(CIFAR)['x'][:300]):
        Image.fromarray(image).save(folder / f'{i:04d}.png')


@pytest.fixture(scope='module')
def cifar_classifier(tmp_path_factory):
    """(config, checkpoint, ONNX file, images, what the export printed),
    made once per test run."""
    if not CIFAR.is_file():
        pytest.skip(f'CIFAR-10 subset not found at {CIFAR}')
    folder = made_once(tmp_path_factory, 'cifar_onnx', export_cifar_classifier)
    return (folder / 'fishnet_cifar_files.py',
            str(folder / 'classifier.pth'), folder / 'classifier.onnx',
            sorted(folder.glob('*.png')), (folder / 'export.txt').read_text())


def test_export_tool_prints_parity(cifar_classifier):
    lines = cifar_classifier[4].splitlines()
    assert lines[-5] == ('ONNX Runtime vs PyTorch (fp32) on 1x3x32x32, '
                         '2x3x32x32, 1x3x47x29:')
    name, _, max_abs, max_rel = lines[-2].strip('| ').split(' | ')
    assert name == 'logits' and float(max_rel) <= 1e-4
    assert lines[-1] == 'all relative errors <= 0.0001'


def test_onnx_classify_runs_without_torch(cifar_classifier, tmp_path):
    _, _, model, images, _ = cifar_classifier
    predictions = tmp_path / 'predictions.json'
    result = run_without_torch(TOOLS / 'onnx_classify.py', model, *images[:4],
                               '--topk', '2', '--json', predictions)
    assert result.returncode == 0, result.stderr
    rows = json.loads(predictions.read_text())
    assert [r['image'] for r in rows] == [str(p) for p in images[:4]]
    classes = ('airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog',
               'horse', 'ship', 'truck')
    for row in rows:
        assert row['name'] == classes[row['label']]
        assert abs(sum(row['scores']) - 1) < 1e-5
        assert row['score'] == max(row['scores'])
    assert f'{images[0]}\n  1. {rows[0]["name"]}' in result.stdout


def test_onnx_agrees_with_pytorch_on_real_cifar_images(cifar_classifier,
                                                       capsys):
    config, checkpoint, model, images, _ = cifar_classifier
    deployment_tool('onnx_agreement').main(
        [str(config), checkpoint,
         str(model), *map(str, images)])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    agree = int(line.split(': ')[1].split('/')[0])
    assert agree >= 0.995 * len(images), line


@pytest.mark.heavy
def test_onnx_segment_without_torch_on_camvid(tmp_path, capsys):
    if not (CAMVID / 'val').is_dir():
        pytest.skip(f'CamVid not found at {CAMVID}')
    checkpoint = save_checkpoint(
        build_with_weights(small_config('segmentation')),
        tmp_path / 'segmentor.pth')
    model = tmp_path / 'segmentor.onnx'
    deployment_tool('pytorch2onnx').main([
        str(CAMVID_CONFIG), checkpoint, '--out',
        str(model), '--shape', '360', '480'
    ])
    images = sorted((CAMVID / 'val').glob('*.png'))[:2]
    result = run_without_torch(TOOLS / 'onnx_segment.py', model, *images,
                               '--out-dir', tmp_path / 'out')
    assert result.returncode == 0, result.stderr
    for image in images:
        labels = np.asarray(
            Image.open(tmp_path / 'out' / f'{image.stem}_labels.png'))
        colors = np.asarray(
            Image.open(tmp_path / 'out' / f'{image.stem}_color.png'))
        assert labels.shape == (360, 480) and labels.max() < 11
        assert colors.shape == (360, 480, 3)
        # sky is class 0 with the SegNet palette's grey
        assert (colors[labels == 0] == (128, 128, 128)).all()
    capsys.readouterr()
    deployment_tool('onnx_agreement').main(
        [str(CAMVID_CONFIG), checkpoint,
         str(model), *map(str, images)])
    share = float(capsys.readouterr().out.split(': ')[-1].split(' %')[0])
    assert share >= 99.9


def test_torch_free_scripts_reject_bad_files(tmp_path):
    broken = tmp_path / 'broken.onnx'
    broken.write_bytes(b'not a model')
    result = run_without_torch(TOOLS / 'onnx_classify.py', broken,
                               tmp_path / 'x.png')
    assert result.returncode != 0
    assert f'{broken} is not a readable ONNX model' in result.stderr
    result = run_without_torch(TOOLS / 'onnx_classify.py',
                               tmp_path / 'missing.onnx', tmp_path / 'x.png')
    assert 'missing.onnx does not exist' in result.stderr


def test_export_tool_needs_a_shape_for_free_size_pipelines(tmp_path):
    checkpoint = save_checkpoint(
        build_with_weights(small_config('classification')), tmp_path / 'c.pth')
    with pytest.raises(SystemExit, match='give the example size with --shape'):
        deployment_tool('pytorch2onnx').main([
            str(REPO / 'configs' /
                'fishnet99-w0.5-s1_1xb128-cos200e_cifar10.py'), checkpoint,
            '--out',
            str(tmp_path / 'c.onnx')
        ])


@pytest.mark.parametrize('config', [
    'fishnet150_8xb32_in1k.py',
    'fpn_fishnet99-w0.25_1xb8-10e_camvid-480x360.py',
    'mask_rcnn_fishnet150_fpn_coco.py'
])
def test_torch_free_preprocessing_matches_the_config(config, tmp_path):
    """The stored preprocessing on a real photo gives the tensor that the
    config's test pipeline and data preprocessor give (mmcv loads BGR and
    resizes with OpenCV; the torch-free path loads RGB with Pillow and
    resizes in numpy): equal up to one intensity level of rounding."""
    from mmengine.config import Config
    from mmengine.dataset import Compose
    from mmengine.registry import MODELS, init_default_scope

    from mmfishnet.deployment import preprocessing_from_config
    image = next((SHARED / 'tiny_coco').rglob('*.jpg'), None)
    if image is None:
        pytest.skip('no tiny_coco images')
    cfg = Config.fromfile(REPO / 'configs' / config)
    init_default_scope(cfg.default_scope)
    pipeline = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] != 'LoadAnnotations'
    ]
    data = Compose(pipeline)(dict(img_path=str(image)))
    settings = cfg.model.get('data_preprocessor') or cfg.data_preprocessor
    settings.setdefault('type', 'ClsDataPreprocessor')
    # mmdet pads to 32 here; FishNet pads inside the graph instead
    settings.pop('pad_size_divisor', None)
    preprocessor = MODELS.build(settings)
    expected = preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]),
        False)['inputs'][0].numpy()
    spec = preprocessing_from_config(cfg)
    got = deployment_tool('onnx_model').preprocess(
        np.asarray(Image.open(image).convert('RGB')), spec)
    assert got.shape == expected.shape
    one_level = 1 / min(spec['std'])
    assert np.abs(got - expected).max() <= one_level + 1e-4
    assert np.abs(got - expected).mean() < 0.25 * one_level

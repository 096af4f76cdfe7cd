"""tools/analysis/compare_segmentation.py: a comparison stopped after an
epoch continues from that epoch's checkpoint (mmengine's own checkpoint
format, which torch >= 2.6 refuses without the safe loader) and keeps the
epochs it had recorded; every FishNet it trains keeps the config's recipe;
--equal-time names the reference among the models and trains the others
only for its time."""
import json
import subprocess
import sys
import time
from types import SimpleNamespace

import pytest
from conftest import CAMVID, REPO, load_tool, run_tool_main

MODEL = 'FishNet-99 w0.25'


def command(out):
    return [
        sys.executable, REPO / 'tools/analysis/compare_segmentation.py',
        '--data', CAMVID, '--subset', '4', '--batch-size', '2', '--epochs',
        '2', '--models', MODEL, '--resume', '--out', out, '--cfg-options',
        *(f'{loader}.{key}'
          for loader in ('train_dataloader', 'val_dataloader')
          for key in ('num_workers=0', 'persistent_workers=False'))
    ]


def test_a_stopped_comparison_resumes_where_it_stopped(tmp_path, monkeypatch,
                                                       capsys):
    if not (CAMVID / 'train').is_dir():
        pytest.skip(f'{CAMVID} not found')
    out = tmp_path / 'out'
    history = out / 'FishNet-99_w0.25' / 'history.json'
    process = subprocess.Popen(
        command(out),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True)
    # stopped as soon as the first epoch is validated (its checkpoint was
    # written before validation)
    while process.poll() is None and not (history.exists() and 'mIoU'
                                          in ''.join(history.read_text())):
        time.sleep(0.05)
    process.kill()
    stderr = process.communicate()[1]
    assert not (history.parent / 'done.json').exists(), stderr[-4000:]
    assert [e['epoch'] for e in json.loads(history.read_text())] == [1]

    # the resumed run: in this process
    monkeypatch.chdir(tmp_path)
    tool, *argv = command(out)[1:]
    run_tool_main(tool, argv, monkeypatch)
    assert 'resumed epoch: 1' in ''.join(capsys.readouterr())
    epochs = json.loads(history.read_text())
    assert [e['epoch'] for e in epochs] == [1, 2]
    assert all(0 <= e['mIoU'] <= 100 for e in epochs)
    done = json.loads((history.parent / 'done.json').read_text())
    assert done['epochs'] == epochs
    assert MODEL in json.loads((out / 'results.json').read_text())['results']


RESNET = 'ResNet-18 (ResNetV1c)'


def empty_camvid(root):
    for folder in ('train', 'trainannot', 'val', 'valannot'):
        (root / folder).mkdir(parents=True)
    return str(root)


@pytest.mark.parametrize('equal_time, message', [
    (['FishNet-99 w0.625', RESNET], "'FishNet-99 w0.625' is not among"),
    ([RESNET, 'FishNet-99 w2'], "'FishNet-99 w2' is not a model"),
    ([RESNET, RESNET], 'would be timed against itself'),
])
def test_equal_time_names_models_of_the_comparison(tmp_path, equal_time,
                                                   message):
    tool = load_tool(REPO / 'tools/analysis/compare_segmentation.py')
    with pytest.raises(SystemExit, match=message):
        tool.main([
            '--data',
            empty_camvid(tmp_path / 'camvid'), '--models', MODEL, RESNET,
            '--equal-time', *equal_time, '--out',
            str(tmp_path / 'out')
        ])
    assert not (tmp_path / 'out' / 'results.json').exists()


def test_equal_time_trains_a_model_outside_models_only_for_the_time(
        tmp_path, monkeypatch):
    """``--models R --equal-time R F``: R to the end of its schedule, then
    F for R's training seconds and nothing more."""
    tool = load_tool(REPO / 'tools/analysis/compare_segmentation.py')
    classes = tool.CamVidDataset.METAINFO['classes']
    calls = []

    def fake_train(args, run, build_cfg, complexity, budget_s=None):
        calls.append((run, budget_s))
        epoch = dict(epoch=1, seconds=12.5, mIoU=30.0, aAcc=60.0)
        epoch.update({f'IoU.{c}': 1.0 for c in classes})
        return dict(params=1, flops=1, budget_s=budget_s, epochs=[epoch])

    monkeypatch.setattr(sys.modules['comparison'], 'train', fake_train)
    monkeypatch.setattr(tool, 'draw', lambda results, path: None)
    out = tmp_path / 'out'
    tool.main([
        '--data',
        empty_camvid(tmp_path / 'camvid'), '--models', RESNET, '--equal-time',
        RESNET, MODEL, '--out',
        str(out)
    ])
    assert calls == [('ResNet-18', None),
                     ('FishNet-99_w0.25_equal-time', 12.5)]
    results = json.loads((out / 'results.json').read_text())['results']
    assert sorted(results) == sorted([RESNET, f'{MODEL}, 12 s'])


@pytest.mark.parametrize('name,widen_factor', [('FishNet-99 w0.25', 0.25),
                                               ('FishNet-99 w0.625', 0.625)])
def test_every_fishnet_of_the_comparison_keeps_the_config_recipe(
        tmp_path, name, widen_factor):
    from mmfishnet.models.backbones import FishNet
    from mmfishnet.models.layers import PreActBottleneck
    tool = load_tool(REPO / 'tools/analysis/compare_segmentation.py')
    args = SimpleNamespace(
        cfg_options=None,
        data=tmp_path,
        subset=None,
        batch_size=8,
        epochs=10,
        seed=0,
        resume=False,
        amp=False)
    cfg = tool.build_cfg(name, args, tmp_path)
    backbone_cfg = cfg.model.backbone
    assert backbone_cfg.widen_factor == widen_factor
    # from scratch, every block starts as its shortcut, as ResNetV1c's do
    assert backbone_cfg.zero_init_residual is True
    assert cfg.model.decode_head.loss_decode.class_weight[9] > 6
    options = {k: v for k, v in backbone_cfg.items() if k != 'type'}
    backbone = FishNet(**options)
    assert backbone.out_channels == cfg.model.neck.in_channels
    backbone.init_weights()
    blocks = [m for m in backbone.modules() if isinstance(m, PreActBottleneck)]
    assert blocks and all(b.conv3.weight.abs().sum() == 0 for b in blocks)

"""tools/analysis/comparison.py, shared by compare_segmentation.py and
compare_detection.py: resuming is refused for a work dir trained with other
settings, equal-time runs get the reference's training seconds (epochs
without validation counted), and the epoch record survives a resume."""
import json
from types import SimpleNamespace

import pytest
from conftest import REPO, load_tool

comparison = load_tool(REPO / 'tools/analysis/comparison.py')


def args_for(tmp_path, **changes):
    args = dict(
        data=tmp_path,
        epochs=2,
        batch_size=2,
        amp=False,
        subset=4,
        cfg_options=None,
        seed=0,
        resume=True,
        equal_time=None,
        out=tmp_path / 'out')
    return SimpleNamespace(**{**args, **changes})


def test_a_resume_with_other_settings_is_refused(tmp_path):
    """A finished run's done.json is read back only for the settings it was
    trained with; changed epochs or --cfg-options stop with the change."""
    args = args_for(tmp_path)
    run = args.out / 'FishNet-99_w0.625'
    run.mkdir(parents=True)
    (run / 'settings.json').write_text(
        json.dumps(comparison.run_settings(args, None)))
    (run / 'done.json').write_text(json.dumps(dict(epochs=[{'epoch': 2}])))

    def never_built(work_dir):
        raise AssertionError('a finished run is not trained again')

    assert comparison.train(args, run.name, never_built,
                            None) == dict(epochs=[{
                                'epoch': 2
                            }])
    for change in (dict(epochs=3), dict(budget_s=100.0),
                   dict(cfg_options={'model.rpn_head.type': 'RPNHead'})):
        budget_s = change.pop('budget_s', None)
        key = next(iter(change), 'budget_s')
        changed = args_for(tmp_path, **change)
        with pytest.raises(SystemExit, match=f'other settings \\({key}: '):
            comparison.train(changed, run.name, never_built, None, budget_s)


def test_equal_time_runs_get_the_reference_training_seconds(tmp_path):
    """The budget is every training second of the reference, the epochs it
    was not validated after included, validation not counted."""
    calls = []

    def train_model(name, run, budget_s):
        calls.append((name, run, budget_s))
        epochs = [
            dict(epoch=1, seconds=10.0),
            dict(epoch=2, seconds=11.5, mAP=0.5, val_seconds=99.0)
        ]
        return dict(epochs=[{
            k: v
            for k, v in e.items() if k != 'val_seconds'
        } for e in epochs])

    args = args_for(tmp_path, equal_time=['FishNet', 'ResNet'])
    (tmp_path / 'out').mkdir()
    results = comparison.run_all(args, ['FishNet', 'ResNet'],
                                 ['FishNet', 'ResNet'], train_model)
    assert calls == [('FishNet', 'FishNet', None), ('ResNet', 'ResNet', None),
                     ('ResNet', 'ResNet_equal-time', 21.5)]
    assert list(results) == ['FishNet', 'ResNet', 'ResNet, 22 s']
    saved = json.loads((tmp_path / 'out' / 'results.json').read_text())
    assert list(saved['results']) == list(results)


def test_the_epoch_record_keeps_seconds_and_metrics_across_a_resume(tmp_path):
    path = tmp_path / 'history.json'
    runner = SimpleNamespace()

    def train_epoch(recorder, epoch):
        # mmengine counts the epoch as done after the after_train_epoch hooks
        runner.epoch = epoch - 1
        recorder.before_train_epoch(runner)
        recorder.after_train_epoch(runner)
        runner.epoch = epoch

    recorder = comparison.EpochRecorder(path)
    train_epoch(recorder, 1)
    train_epoch(recorder, 2)
    recorder.after_val_epoch(runner, {'pascal_voc/mAP': 0.25})
    # resumed from epoch 1's checkpoint: epoch 2 is trained again
    resumed = comparison.EpochRecorder(path)
    train_epoch(resumed, 2)
    epochs = json.loads(path.read_text())
    assert [e['epoch'] for e in epochs] == [1, 2]
    assert 'pascal_voc/mAP' not in epochs[1]
    resumed.after_val_epoch(runner, {'pascal_voc/mAP': 0.5})
    result = dict(epochs=json.loads(path.read_text()))
    assert comparison.curve(result, 'pascal_voc/mAP')[::2] == ([2], [0.5])
    assert comparison.training_seconds(result) == pytest.approx(
        sum(e['seconds'] for e in result['epochs']))


def test_a_model_has_one_colour_in_every_figure():
    names = ['FishNet-99 w0.625', 'ResNet-18', 'FishNet-150']
    colours = {name: comparison.model_colour(name, names) for name in names}
    assert len(set(colours.values())) == len(colours)
    # the equal-time run of a model, whatever the order of --models
    assert comparison.model_colour('ResNet-18, 1380 s',
                                   names) == colours['ResNet-18']


def test_an_equal_time_run_keeps_the_configs_warm_up():
    warmup = dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=300)
    steps = dict(type='MultiStepLR', by_epoch=True, milestones=[6, 7])
    assert comparison.linear_warmup([warmup, steps]) == dict(
        warmup_iters=300, warmup_start_factor=0.001)
    # an epoch-based or later LinearLR is not a warm-up; none at all: {}
    assert comparison.linear_warmup([{**warmup, 'by_epoch': True}]) == {}
    assert comparison.linear_warmup([{**warmup, 'begin': 10}, steps]) == {}
    assert comparison.linear_warmup(None) == {}


def test_the_bccd_equal_time_run_warms_up_as_the_epoch_run_does(tmp_path):
    tool = load_tool(REPO / 'tools/analysis/compare_detection.py')
    args = args_for(tmp_path, epochs=8, subset=None, batch_size=None)
    epochs = tool.build_cfg('FishNet-99 w0.625', args, tmp_path)
    timed = tool.build_cfg('FishNet-99 w0.625', args, tmp_path, 1832.0)
    assert epochs.param_scheduler[0].end == 300
    assert timed.param_scheduler == []
    hook = [h for h in timed.custom_hooks if h.type == 'TimeBudgetHook']
    assert hook == [
        dict(
            type='TimeBudgetHook',
            budget_s=1832.0,
            warmup_iters=300,
            warmup_start_factor=0.001)
    ]

"""What the from-scratch comparisons (compare_segmentation.py,
compare_detection.py) share: the command line, one run per model in its own
work dir with a record of every epoch, resuming (refused for a work dir
trained with other settings), the equal-time runs, the curves' colours and
results.json."""
import argparse
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch
from mmengine.config import Config, DictAction
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmfishnet.runtime import (adapt_config_to_cpu, add_checkpoint_safety_hook,
                               enable_amp, set_memory_format)


class EpochRecorder(Hook):
    """Training seconds of every epoch and the validation metrics after it,
    appended to ``history.json`` in the work dir so that a resumed run keeps
    them. With validation every k epochs, the epochs between carry their
    seconds and no metrics."""

    def __init__(self, path: Path):
        self.path = path
        self.epochs = json.loads(path.read_text()) if path.exists() else []

    def before_train_epoch(self, runner):
        self._start = time.perf_counter()

    def after_train_epoch(self, runner):
        # runner.epoch counts the epochs finished once this hook has run; an
        # epoch trained again after a resume starts a new entry
        epoch = runner.epoch + 1
        self.epochs = [e for e in self.epochs if e['epoch'] < epoch]
        self.epochs.append(
            dict(epoch=epoch, seconds=time.perf_counter() - self._start))
        self._save()

    def after_val_epoch(self, runner, metrics=None):
        entry = next(e for e in self.epochs if e['epoch'] == runner.epoch)
        entry.update({k: float(v) for k, v in metrics.items()})
        self._save()

    def _save(self) -> None:
        self.path.write_text(json.dumps(self.epochs, indent=1))


def training_seconds(result: dict) -> float:
    """Seconds a model trained (validation not counted)."""
    return sum(e['seconds'] for e in result['epochs'])


def curve(result: dict, key: str) -> Tuple[list, list, list]:
    """(epochs, training minutes so far, ``key``) at every validated epoch
    of a run."""
    epochs, minutes, values, seconds = [], [], [], 0.0
    for e in result['epochs']:
        seconds += e['seconds']
        if key in e:
            epochs.append(e['epoch'])
            minutes.append(seconds / 60)
            values.append(e[key])
    return epochs, minutes, values


def slug(name: str) -> str:
    """The work dir of a model: 'ResNet-18 (ResNetV1c)' -> ResNet-18."""
    return name.split(' (')[0].replace(' ', '_')


def model_colour(name: str, names) -> str:
    """One colour per model in every figure, whatever the order of
    ``--models`` (an equal-time run, ``'<model>, <seconds> s'``, shares its
    model's colour; draw it dashed)."""
    base = name.split(', ')[0]
    names = list(names)
    return f'C{names.index(base)}' if base in names else 'C9'


#: What shapes a run: a run is resumed only with the same values.
RUN_SETTINGS = ('data', 'epochs', 'batch_size', 'amp', 'subset', 'cfg_options',
                'seed')


def run_settings(args, budget_s: Optional[float]) -> dict:
    """The settings of one model's run, as JSON values."""
    settings = {k: getattr(args, k) for k in RUN_SETTINGS}
    settings['data'] = str(settings['data'])
    settings['cfg_options'] = json.loads(
        json.dumps(settings['cfg_options'] or {}, default=str))
    settings['budget_s'] = budget_s
    return settings


def check_same_settings(work_dir: Path, settings: dict) -> None:
    """Refuse to resume a run that was started with other settings
    (its checkpoints and ``done.json`` would be stale)."""
    path = work_dir / 'settings.json'
    if not path.exists():
        return
    before = json.loads(path.read_text())
    changed = [
        f'{k}: {before.get(k)!r} then, {v!r} now' for k, v in settings.items()
        if before.get(k) != v
    ]
    if changed:
        raise SystemExit(f'error: --resume: {work_dir} was trained with other '
                         f'settings ({"; ".join(changed)}): give another '
                         '--out, or remove that folder to train it again')


def model_config(entry: Tuple[Path, Optional[dict], Optional[list]],
                 args) -> Config:
    """The config of a comparison's model table entry (config, backbone or
    None for the config's own, the FPN input channels with it), reading
    ``--data`` and, where given, ``--subset`` and ``--batch-size``."""
    config, backbone, channels = entry
    cfg = Config.fromfile(config)
    if backbone is not None:
        cfg.model.backbone = backbone
        cfg.model.neck.in_channels = channels
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(args.data)
        if args.subset:
            cfg[loader].dataset.indices = args.subset
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    return cfg


def linear_warmup(param_scheduler) -> dict:
    """The iteration-based ``LinearLR`` warm-up from iteration 0 among the
    config's ``param_scheduler`` as ``TimeBudgetHook`` arguments
    (``warmup_iters``, ``warmup_start_factor``); ``{}`` when it has none."""
    if isinstance(param_scheduler, dict):
        param_scheduler = [param_scheduler]
    for scheduler in param_scheduler or []:
        if (scheduler.get('type') == 'LinearLR'
                and scheduler.get('by_epoch', True) is False
                and scheduler.get('begin', 0) == 0):
            return dict(
                warmup_iters=scheduler['end'],
                warmup_start_factor=scheduler.get('start_factor', 1 / 3))
    return {}


def apply_run_settings(cfg: Config, args, work_dir: Path,
                       budget_s: Optional[float]) -> Config:
    """What every comparison run shares: ``args.epochs`` epochs (or, with
    ``budget_s``, that many seconds of training with the lr a cosine of the
    time after the config's warm-up: ``TimeBudgetHook`` in place of the
    ``param_scheduler``), a checkpoint after
    every epoch, the seed, resuming, precision, channels_last, and the CPU's
    replacements for CUDA-only settings."""
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_epochs = args.epochs
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=1)
    if budget_s is not None:
        warmup = linear_warmup(cfg.get('param_scheduler'))
        cfg.param_scheduler = []
        cfg.train_cfg.max_epochs = 10 * args.epochs
        cfg.custom_hooks = list(cfg.get('custom_hooks') or []) + [
            dict(type='TimeBudgetHook', budget_s=budget_s, **warmup)
        ]
    cfg.randomness = dict(seed=args.seed)
    # --resume reads mmengine's own checkpoints back on torch >= 2.6, and a
    # stopped run leaves its previous checkpoint whole
    add_checkpoint_safety_hook(cfg)
    cfg.resume = args.resume
    cfg.launcher = 'none'
    if args.amp:
        enable_amp(cfg, 'auto')
    set_memory_format(cfg, 'channels_last')
    if not torch.cuda.is_available():
        adapt_config_to_cpu(cfg)
    return cfg


def train(args,
          run: str,
          build_cfg: Callable[[Path], Config],
          complexity: Callable[[torch.nn.Module], Tuple[int, float]],
          budget_s: Optional[float] = None) -> dict:
    """Train the model of ``build_cfg(work_dir)`` in ``args.out / run`` (a
    finished run with ``--resume`` and the same settings is read back, not
    trained again); returns its parameters, multiply-adds (``complexity``
    of the trained model) and epoch history."""
    work_dir = args.out / run
    done = work_dir / 'done.json'
    settings = run_settings(args, budget_s)
    if args.resume:
        check_same_settings(work_dir, settings)
        if done.exists():
            return json.loads(done.read_text())
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / 'settings.json').write_text(json.dumps(settings, indent=1))
    recorder = EpochRecorder(work_dir / 'history.json')
    runner = Runner.from_cfg(build_cfg(work_dir))
    runner.register_hook(recorder)
    runner.train()
    params, flops = complexity(runner.model)
    result = dict(
        params=params, flops=flops, budget_s=budget_s, epochs=recorder.epochs)
    done.write_text(json.dumps(result, indent=1))
    return result


def save(results: dict, args) -> None:
    with open(args.out / 'results.json', 'w') as f:
        json.dump(
            dict(
                args={
                    k: str(v)
                    for k, v in vars(args).items()
                },
                results=results),
            f,
            indent=1)


def parser_for(description: str, models, data_help: str,
               default_out: str) -> argparse.ArgumentParser:
    """The command line every comparison takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--data', required=True, type=Path, help=data_help)
    parser.add_argument(
        '--epochs',
        type=int,
        help="train this many epochs (default: the config's), the lr "
        "schedule stretched to them")
    parser.add_argument('--batch-size', type=int)
    parser.add_argument(
        '--amp',
        action='store_true',
        help='bf16 autocast (fp32 on a CPU without native bf16)')
    parser.add_argument(
        '--models',
        nargs='*',
        choices=sorted(models),
        help='a subset of the models (default: all)')
    parser.add_argument(
        '--subset',
        type=int,
        help='only the first N images of each split (a quick check)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='changes to the recipe of every model, e.g. for an ablation')
    parser.add_argument(
        '--equal-time',
        nargs='+',
        metavar='MODEL',
        help='MODEL [OTHER ...]: then train the OTHER models (default: all '
        'the others of --models; named ones need not be among them) for as '
        'long as MODEL trained (its training seconds, '
        'validation not counted), with the lr a cosine of the time spent '
        '(TimeBudgetHook)')
    parser.add_argument(
        '--resume',
        action='store_true',
        help='continue each unfinished model from its newest checkpoint; '
        'finished ones are read back')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out', type=Path, default=Path(default_out))
    return parser


def equal_time_plan(args, names: List[str],
                    models) -> Tuple[Optional[str], List[str]]:
    """(reference, timed models) of ``--equal-time``, checked: the reference
    trains to the end of its schedule among ``names``; the timed ones are
    models of the comparison other than it."""
    if not args.equal_time:
        return None, []
    reference, *timed = args.equal_time
    timed = timed or [name for name in names if name != reference]
    if reference not in names:
        raise SystemExit(f'error: --equal-time {reference!r} is not '
                         f'among the models {names}: the reference '
                         'trains to the end of its schedule first')
    for name in timed:
        if name not in models:
            raise SystemExit(f'error: --equal-time {name!r} is not a '
                             f'model of the comparison: choose from '
                             f'{sorted(models)}')
    if reference in timed:
        raise SystemExit(f'error: --equal-time {reference!r} would be '
                         'timed against itself')
    return reference, timed


def run_all(
    args, names: List[str], models,
    train_model: Callable[[str, str, Optional[float]],
                          dict]) -> Dict[str, dict]:
    """Every model of ``names`` to the end of its schedule, then the
    equal-time runs; results.json is written after each."""
    reference, timed = equal_time_plan(args, names, models)
    results = {}
    for name in names:
        results[name] = train_model(name, slug(name), None)
        save(results, args)
    if reference:
        budget_s = training_seconds(results[reference])
        for name in timed:
            results[f'{name}, {budget_s:.0f} s'] = train_model(
                name, f'{slug(name)}_equal-time', budget_s)
            save(results, args)
    return results


def prepare(args, parts: List[str], layout: str, config: Path) -> None:
    """Stop unless ``--data`` holds every one of ``parts`` (saying it must
    be ``layout``); make ``--out``; ``--epochs`` defaults to ``config``'s."""
    for part in parts:
        if not (args.data / part).exists():
            raise SystemExit(f'error: {args.data / part} does not exist: '
                             f'--data must be {layout}')
    args.out.mkdir(parents=True, exist_ok=True)
    if args.epochs is None:
        args.epochs = Config.fromfile(config).train_cfg.max_epochs


def run_models(args, names: List[str], models, build_cfg: Callable[...,
                                                                   Config],
               complexity: Callable) -> Dict[str, dict]:
    """:func:`run_all` with every run trained by :func:`train` from
    ``build_cfg(name, args, work_dir, budget_s)``."""

    def train_model(name: str, run: str, budget_s: Optional[float]):
        return train(
            args, run,
            lambda work_dir: build_cfg(name, args, work_dir, budget_s),
            complexity, budget_s)

    return run_all(args, names, models, train_model)

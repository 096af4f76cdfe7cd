"""What the README and docs/ point to exists, and every config named in
model-index.yml builds."""
import re
from importlib import import_module
from pathlib import Path

import pytest
import torch
import yaml
from conftest import REPO, load_config
from mmengine.registry import init_default_scope

PAGES = [
    REPO / 'README.md', *sorted((REPO / 'docs').glob('*.md')), *sorted(
        (REPO / 'configs').glob('*/README.md'))
]
LINK = re.compile(r'\]\(([^)#\s]+)(#[^)]*)?\)')
# configs/... and tools/... paths in text and commands; {a,b} and * patterns
# are expanded or globbed
PATH = re.compile(r'(?<![\w./-])((?:configs|tools)/[\w./{},*-]+)')

# paths the pages name on purpose although they do not exist
EXAMPLES = {
    'configs/my_finetune.py',  # the user's copy of a config
    'configs/mask_rcnn_fishnet150_fpn_cocoo.py',  # a typo, in an error message
}


def expand(path: str):
    """``configs/mask_rcnn_fishnet{99,201}_fpn_coco.py`` -> both names."""
    match = re.search(r'\{([^}]*)\}', path)
    if not match:
        return [path]
    return [
        expanded for choice in match.group(1).split(',')
        for expanded in expand(path[:match.start()] + choice +
                               path[match.end():])
    ]


def mentioned_paths(page: Path):
    text = page.read_text()
    for match in PATH.finditer(text):
        path = match.group(1).rstrip('.,')
        if path.endswith('/'):
            path = path[:-1]
        yield from (p for p in expand(path) if p not in EXAMPLES)


@pytest.mark.parametrize('page', PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_exist(page):
    missing = [
        target for target, _ in LINK.findall(page.read_text())
        if '://' not in target and not (page.parent / target).exists()
    ]
    assert missing == []


@pytest.mark.parametrize('page', PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_config_and_tool_paths_exist(page):
    missing = [
        path for path in mentioned_paths(page)
        if not (list(REPO.glob(path)) if '*' in path else (REPO /
                                                           path).exists())
    ]
    assert missing == []


def model_index_models():
    """Every model of the metafiles that model-index.yml imports, with the
    metadata of its collection under its own."""
    with open(REPO / 'model-index.yml') as f:
        index = yaml.safe_load(f)
    models = []
    for metafile in index['Import']:
        with open(REPO / metafile) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name']: c for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            metadata = dict(collections[model['In Collection']]['Metadata'])
            metadata.update(model.get('Metadata') or {})
            models.append(dict(model, Metadata=metadata))
    return models


def test_model_index_names_every_config():
    named = {model['Config'] for model in model_index_models()}
    configs = {
        str(p.relative_to(REPO))
        for p in (REPO / 'configs').glob('*.py')
    }
    assert configs == named


OPTIMIZERS = {'SGD': 'SGD with Momentum', 'AdamW': 'AdamW'}
SCHEDULES = {
    'CosineAnnealingLR': 'Cosine Annealing',
    'PolyLR': 'Poly Learning Rate Schedule'
}


@pytest.mark.parametrize(
    'model', model_index_models(), ids=lambda m: m['Name'])
def test_model_index_states_what_the_config_builds_and_trains(model):
    """The model builds (on the meta device: no weights allocated) with the
    parameters the metafile states (to its rounding), and the optimizer and
    schedule it names are the config's."""
    cfg = load_config(REPO / model['Config'])
    scope = cfg.default_scope
    init_default_scope(scope)
    with torch.device('meta'):
        built = import_module(f'{scope}.registry').MODELS.build(cfg.model)
    params = sum(p.numel() for p in built.parameters())
    stated = model['Metadata'].get('Parameters')
    if stated is not None:
        rounding = 1 if stated % 10000 else 5000
        assert abs(params - stated) <= rounding, (params, stated)
    techniques = set(model['Metadata']['Training Techniques'])
    optimizer = cfg.optim_wrapper.optimizer.type
    assert OPTIMIZERS[optimizer] in techniques
    assert not techniques & (
        set(OPTIMIZERS.values()) - {OPTIMIZERS[optimizer]})
    schedulers = cfg.param_scheduler if isinstance(
        cfg.param_scheduler, list) else [cfg.param_scheduler]
    used = {SCHEDULES.get(scheduler['type']) for scheduler in schedulers}
    assert techniques & set(SCHEDULES.values()) <= used

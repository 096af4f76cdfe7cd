"""What the README and docs/ point to exists, and every config named in
model-index.yml builds."""
import re
from importlib import import_module
from pathlib import Path

import pytest
import yaml
from conftest import REPO
from mmengine.config import Config
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


def model_index_configs():
    with open(REPO / 'model-index.yml') as f:
        index = yaml.safe_load(f)
    configs = []
    for metafile in index['Import']:
        with open(REPO / metafile) as f:
            meta = yaml.safe_load(f)
        collections = {c['Name'] for c in meta['Collections']}
        for model in meta['Models']:
            assert model['In Collection'] in collections, model['Name']
            configs.append(model['Config'])
    return configs


def test_model_index_names_every_config():
    named = set(model_index_configs())
    configs = {
        str(p.relative_to(REPO))
        for p in (REPO / 'configs').glob('*.py')
    }
    assert configs == named


@pytest.mark.parametrize('config', model_index_configs())
def test_model_index_configs_build(config):
    cfg = Config.fromfile(REPO / config)
    scope = cfg.default_scope
    init_default_scope(scope)
    model = import_module(f'{scope}.registry').MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0

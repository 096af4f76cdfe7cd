"""tools/analysis/zoo_compat.py: every model family of the installed mmdet
and mmseg zoos runs a loss, a backward and a predict with FishNet swapped
in by the documented recipe."""
import functools

import pytest
from conftest import REPO, load_tool

from mmfishnet.runtime.recipes import (NO_RESNET_WEIGHTS, PREPROCESSOR,
                                       RECIPES, RECIPES_BY_NAME, Recipe)

TOOL = REPO / 'tools' / 'analysis' / 'zoo_compat.py'
# The shorter walk of the oldest stack: one family per kind of recipe
COMPAT = {
    'mmdet': ('faster_rcnn', 'dino', 'detr', 'mask2former', 'rtmdet',
              'centernet', 'libra_rcnn', 'yolo'),
    'mmseg':
    ('pspnet', 'deeplabv3plus', 'upernet', 'sem_fpn', 'ann', 'encnet', 'knet'),
}

zoo = load_tool(TOOL)
CASES = [
    pytest.param(
        toolbox,
        folder,
        marks=[pytest.mark.compat] if folder in COMPAT[toolbox] else [],
        id=f'{toolbox}-{folder}') for toolbox in zoo.FAMILIES
    for folder in sorted(zoo.FAMILIES[toolbox])
]


@pytest.fixture(scope='session')
def workdir(tmp_path_factory):
    """One folder for the whole walk: the narrow fragment and its weights
    are written once."""
    return str(tmp_path_factory.mktemp('zoo'))


@pytest.mark.compat
@pytest.mark.parametrize('toolbox', sorted(zoo.FAMILIES))
def test_every_config_folder_is_walked_or_left_out_with_a_reason(toolbox):
    walked, left_out = set(zoo.FAMILIES[toolbox]), set(zoo.LEFT_OUT[toolbox])
    same = set(zoo.SAME_MODEL[toolbox])
    assert not walked & left_out and not walked & same and not same & left_out
    assert set(zoo.family_folders(toolbox)) == walked | left_out | same
    for folder, (config, recipe, *_) in [
            *zoo.FAMILIES[toolbox].items(), *zoo.SAME_MODEL[toolbox].items()
    ]:
        assert (zoo.installed_configs(toolbox) / folder / config).is_file()
        assert recipe in RECIPES_BY_NAME


@functools.lru_cache(maxsize=None)
def model_types_of(folder, config, recipe, workdir):
    """The types of the mmdet user config of ``folder`` (each read once)."""
    from mmengine.config import Config
    path = f'{workdir}/mmdet_{folder}_types.py'
    with open(path, 'w') as f:
        f.write(
            zoo.user_config('mmdet', f'{folder}/{config}', recipe,
                            zoo.narrow_fragment(workdir)))
    return zoo.model_types(Config.fromfile(path))


@pytest.mark.parametrize(
    'folder', sorted(zoo.SAME_MODEL['mmdet']), ids=lambda f: f'mmdet-{f}')
def test_a_folder_counted_once_holds_the_model_of_its_twin(folder, workdir):
    config, recipe, twin = zoo.SAME_MODEL['mmdet'][folder]
    assert model_types_of(folder, config, recipe, workdir) == model_types_of(
        twin, *zoo.FAMILIES['mmdet'][twin], workdir)


@pytest.mark.parametrize('toolbox,folder', CASES)
def test_the_family_runs_with_fishnet(toolbox, folder, workdir):
    ok, message = zoo.walk(toolbox, folder, workdir)
    assert ok, message


@pytest.mark.parametrize('recipe,dropped,message', [
    ('fpn', 'neck=dict(in_channels={{_base_.fishnet_channels.c2_c5}})',
     'Set model.neck.in_channels=[80, 208, 400, 528]'),
    ('seg_stride8', NO_RESNET_WEIGHTS,
     "model.pretrained='open-mmlab://resnet50_v1c'"),
])
def test_a_recipe_that_misses_a_line_is_reported_with_the_error(
        recipe, dropped, message, workdir, monkeypatch):
    """The walk runs the checks and the weights as a user's run does: a
    recipe without the neck's channels stops at the channel check, an mmseg
    recipe without pretrained=None at FishNet's refusal of ResNet weights."""
    typed = Recipe.config_lines
    monkeypatch.setattr(
        Recipe, 'config_lines',
        lambda self: [line for line in typed(self) if line != dropped])
    assert dropped in typed(RECIPES_BY_NAME[recipe])
    toolbox, folder = (('mmdet', 'faster_rcnn') if recipe == 'fpn' else
                       ('mmseg', 'pspnet'))
    ok, error = zoo.walk(toolbox, folder, workdir)
    assert not ok
    assert message in error


def test_the_tool_prints_the_table(tmp_path, capsys):
    table = tmp_path / 'table.md'
    code = zoo.main(
        ['--toolbox', 'mmseg', '--families', 'fcn', '--markdown',
         str(table)])
    assert code == 0
    assert '| mmseg | fcn | `fcn_r50-d8_4xb4-80k_ade20k-512x512.py` | ' \
        'seg_stride8 | ok |' in table.read_text()
    assert '1 of 1 families ran' in capsys.readouterr().out


def test_docs_show_every_recipe_row_verbatim():
    """docs/backbone.md has one row per recipe: its parts and every line,
    the auxiliary head's among them where the family has one."""
    page = (REPO / 'docs' / 'backbone.md').read_text()
    rows = [line for line in page.splitlines() if line.startswith('| ')]
    for recipe in RECIPES:
        cells = '<br>'.join(f'`{line}`' for line in recipe.config_lines())
        assert f'| {recipe.parts} (`{recipe.name}`) | {cells} |' in rows, \
            recipe.name
    assert PREPROCESSOR in page


def test_the_compatibility_table_lists_every_family():
    page = (REPO / 'docs' / 'zoo_compat.md').read_text()
    for toolbox in zoo.FAMILIES:
        for folder in (*zoo.FAMILIES[toolbox], *zoo.SAME_MODEL[toolbox],
                       *zoo.LEFT_OUT[toolbox]):
            assert f'| {toolbox} | {folder} |' in page, folder


def test_the_docs_count_the_families_the_walk_runs():
    page = ' '.join((REPO / 'docs' / 'backbone.md').read_text().split())
    assert (f'{len(zoo.FAMILIES["mmdet"])} mmdet and '
            f'{len(zoo.FAMILIES["mmseg"])} mmseg model families run') in page
    assert f'{len(zoo.SAME_MODEL["mmdet"])} mmdet folders' in page


def test_capped_heads_keep_one_class_weight_per_class():
    capped = {150: 80}  # ADE20K's heads capped at 80 classes
    maskformer = [1.0] * 150 + [0.1]  # one per class and "no object"
    assert zoo.capped_class_weight(maskformer, capped) == [1.0] * 80 + [0.1]
    per_class = [float(i) for i in range(150)]
    assert zoo.capped_class_weight(per_class, capped) == per_class[:80]
    # a weight of another length, or none, is not the cap's business
    assert zoo.capped_class_weight([1.0, 2.0], capped) == [1.0, 2.0]
    assert zoo.capped_class_weight(None, capped) is None

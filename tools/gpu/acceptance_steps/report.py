"""The acceptance report: every row as soon as it exists, in
``OUT/acceptance.json`` (all values) and ``OUT/acceptance.md`` (one table per
step, in the order the steps ran), each written beside the old file and moved
into place, so that a stop at any moment leaves a whole report."""
import datetime
import json
import os
import time
import traceback
from pathlib import Path

#: Fields every row has, shown as the first columns or not at all.
FIXED = ('step', 'name', 'status', 'seconds', 'error', 'log')


class Report:
    """The rows of every step, saved as JSON and markdown after each one;
    ``setup``: the timed phases of the install before the run."""

    def __init__(self, out: Path, setup: dict = None):
        self.out = out
        self.data = dict(
            started=datetime.datetime.now().isoformat(timespec='seconds'),
            setup=setup or {},
            rows=[])

    def add(self, step: str, name: str, status: str, seconds: float,
            **values) -> dict:
        row = dict(
            step=step,
            name=name,
            status=status,
            seconds=round(seconds, 2),
            **values)
        self.data['rows'].append(row)
        self.save()
        print(
            f'[acceptance] {step}: {name}: {status} ({seconds:.1f} s)',
            flush=True)
        return row

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        texts = {
            'acceptance.json': json.dumps(self.data, indent=1, default=str),
            'acceptance.md': self.markdown(),
        }
        for name, text in texts.items():
            partial = self.out / f'.{name}.partial'
            partial.write_text(text)
            os.replace(partial, self.out / name)

    def markdown(self) -> str:
        lines = [f'# GPU acceptance, started {self.data["started"]}', '']
        if self.data['setup']:
            lines += [
                '## Setup', '', '| phase | seconds | detail |', '|---|---|---|'
            ]
            for phase, info in self.data['setup'].items():
                lines.append(f'| {phase} | {info.get("seconds", "")} | '
                             f'{info.get("detail", "")} |')
            lines.append('')
        steps = dict.fromkeys(row['step'] for row in self.data['rows'])
        for step in steps:
            lines += self._step_table(
                step, [r for r in self.data['rows'] if r['step'] == step])
        return '\n'.join(lines)

    @staticmethod
    def _step_table(step: str, rows: list) -> list:
        """The markdown lines of one step: a table with a column for every
        value any of its rows has, then the last line of each error."""
        keys = list(
            dict.fromkeys(k for row in rows for k in row if k not in FIXED))
        lines = [
            f'## {step}', '',
            '| ' + ' | '.join(['name', 'status', 's', *keys]) + ' |',
            '|---' * (3 + len(keys)) + '|'
        ]
        for row in rows:
            cells = [row['name'], row['status'], str(row['seconds'])]
            cells += [_cell(row.get(k, '')) for k in keys]
            lines.append('| ' + ' | '.join(cells) + ' |')
        for row in rows:
            if row.get('error'):
                lines += ['', f'{row["name"]}: `{_one_line(row["error"])}`']
        lines.append('')
        return lines


def _cell(value) -> str:
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value).replace('|', '/')


def _one_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ''


def timed(report: Report, step: str, name: str, function, *args, **kwargs):
    """Run ``function`` and record its row; a failure is a row too."""
    start = time.perf_counter()
    try:
        values = function(*args, **kwargs) or {}
    except Exception as e:  # recorded, and the run goes on
        return report.add(
            step,
            name,
            'failed',
            time.perf_counter() - start,
            error=f'{type(e).__name__}: {e}\n{traceback.format_exc()}')
    status = values.pop('status', 'ok')
    return report.add(step, name, status,
                      time.perf_counter() - start, **values)

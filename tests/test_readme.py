"""The README stays short and its commands stay valid: every sweep command in README.md and docs/ passes our checks."""

import re
import shlex
import shutil
from pathlib import Path

from sweep import compare
from sweep.config import hydra_settings, overrides

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
PAGES = [README, *sorted((REPO / "docs").glob("*.md"))]


def commands(page: Path):
    """Each `python -m sweep.<module> …` command in the page's bash blocks: (module, its arguments)."""
    blocks = re.findall(r"```bash\n(.*?)```", page.read_text(), re.DOTALL)
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            for start in [i for i, word in enumerate(words[:-2]) if words[i : i + 2] == ["python", "-m"]]:
                module, rest = words[start + 2], words[start + 3 :]
                yield module, rest[: rest.index("&&")] if "&&" in rest else rest


def test_the_readme_is_short_and_stays_inside_the_repository():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    assert "../" not in text and "sudo bash" not in text.replace("put `sudo` in front of `bash`", "")
    for page in re.findall(r"`(docs/[\w.]+\.md)`", text):
        assert (REPO / page).is_file(), page


def test_the_first_command_is_the_small_offline_sweep_and_ends_in_the_table():
    (module, args), (then, flags) = list(commands(README))[:2]
    assert module == "sweep.train" and args[:3] == ["-m", "reg=glob(*)", "act=glob(*)"]  # every cell of the study
    assert "data=fashion_mnist" in args and {"data.limit", "train.epochs"} <= {a.partition("=")[0] for a in args}
    assert (then, flags) == ("sweep.compare", [])


def test_every_sweep_command_passes_our_checks():
    found = {(module, tuple(args)) for page in PAGES for module, args in commands(page)}
    (Path("my_conf") / "act").mkdir(parents=True)  # the README's own option file: my_conf/act/elu.yaml
    (Path("my_conf") / "act" / "elu.yaml").write_text("name: elu\n")
    shutil.copytree(REPO / "examples" / "models", "examples/models")  # docs/models.md's --config-dir
    assert len(found) >= 5 and {module for module, _ in found} == {"sweep.train", "sweep.compare"}
    for module, args in sorted(found):
        if module == "sweep.train":
            assert overrides.check(list(args), str(REPO / "conf")) is None, args
            assert hydra_settings.check(list(args), str(REPO / "conf")) is None, args
        else:
            compare.parse_args(list(args))  # exits 2 on an unknown flag

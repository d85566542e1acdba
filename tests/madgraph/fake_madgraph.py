"""A recording fake of MadGraph 5 for the tests (copied into tmp_path as bin/mg5_aMC and friends).

It behaves after the name it is called by: ``mg5_aMC <command file>`` runs ``output <dir>`` (creates a small
process directory whose ``bin/`` holds copies of this script) and ``launch <dir>`` (writes events into
``Events/run_NN/``); ``bin/madevent reweight <run> -f`` adds weights to a run; ``bin/generate_events`` only
records. Every call appends its argv, working directory, selected environment variables and, for launches,
the switches and cards it saw to the JSON-lines file RECORD_FILE. Events: u d > u d a a with a 125 GeV
diphoton resonance; one weight per ``launch --rwgt_name=`` block of Cards/reweight_card.dat, a smooth
function of the ``set dim6 ...`` values, equal to the nominal weight at the param card's point.
The environment variable FAKE_MG_FAIL=launch makes launches crash (exit code 7); FAKE_MG_FAIL=silent makes
them write nothing and succeed.

Version-dependent behaviours of the real reweighting module (madgraph/interface/reweight_interface.py),
selected by FAKE_MG_VERSION (default 3.5.0; see docs/madgraph.md):
- a ``launch`` block whose card equals the generation card: old versions (below BYPASS_BEFORE here) log
  "original card and new card are identical. Bypass this run" and write no weight; newer ones run it anyway
  and write a weight equal to the nominal one.
- NLO events (``events.lhe.gz``): every reweighted weight is named ``<rwgt_name>_nlo`` (all versions).
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

RECORD_FILE = None  # replaced by the fixture that installs the fake
ENV_KEYS = ("PATH", "TMPDIR", "CM_INITIAL", "FAKE_MG_FAIL", "FAKE_MG_VERSION")
#: Versions below this one bypass a reweighting whose card equals the generation card (a stand-in boundary:
#: the real code changed within 2.x; the tests select one side or the other).
BYPASS_BEFORE = (2, 6, 0)


def version():
    return tuple(int(part) for part in os.environ.get("FAKE_MG_VERSION", "3.5.0").split("."))


def reweighted_points(points, param_card, nlo):
    """The (weight id, values) MadGraph writes for the launch blocks ``points`` of a reweight card."""
    nominal = card_entries(param_card, "dim6")
    out = []
    for name, values in points:
        identical = all(abs(v - nominal.get(i, 0.0)) <= 1e-12 * max(1.0, abs(v)) for i, v in values.items())
        if identical and version() < BYPASS_BEFORE:
            print(f" REWEIGHTING: original card and new card are identical. Bypass this run ({name})")
            continue
        out.append((name + ("_nlo" if nlo else ""), values))
    return out


def record(kind, **extra):
    entry = {
        "kind": kind,
        "argv": sys.argv,
        "cwd": os.getcwd(),
        "env": {key: os.environ.get(key) for key in ENV_KEYS},
        **extra,
    }
    with open(RECORD_FILE, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


def card_entries(text, block):
    """{id: value} of one block of a param card."""
    values, current = {}, None
    for line in text.splitlines():
        tokens = line.split("#")[0].split()
        if len(tokens) >= 2 and tokens[0].lower() == "block":
            current = tokens[1].lower()
        elif current == block and len(tokens) == 2:
            values[int(tokens[0])] = float(tokens[1])
    return values


def reweight_points(text):
    """[(name, {id: value})] from the launch blocks of a reweight card (dim6 entries only)."""
    points = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("launch --rwgt_name="):
            points.append((line.split("=", 1)[1], {}))
        elif line.startswith("set ") and points:
            _, block, lha_id, value = line.split()
            if block.lower() == "dim6":
                points[-1][1][int(lha_id)] = float(value)
    return points


def run_card_value(text, name, default):
    for line in text.splitlines():
        content = line.split("!")[0]
        if "=" in content and content.rsplit("=", 1)[1].strip().lower() == name:
            return content.rsplit("=", 1)[0].strip()
    return default


def boost(momenta, beta):
    """Boost [n, 4] (E, px, py, pz) by velocities beta [n, 3]."""
    import numpy as np

    b2 = np.sum(beta**2, axis=1)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * momenta[:, 1:], axis=1)
    factor = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    energy = gamma * (momenta[:, 0] + bp)
    space = momenta[:, 1:] + (factor * bp + gamma * momenta[:, 0])[:, None] * beta
    return np.column_stack([energy, space])


def lhe_writer():
    """columnminer's LHE writer, loaded without running the package's heavy __init__ (scipy...)."""
    import importlib
    import importlib.util
    import types

    if "columnminer" not in sys.modules:
        package = types.ModuleType("columnminer")
        package.__path__ = [str(Path(importlib.util.find_spec("columnminer").origin).parent)]
        sys.modules["columnminer"] = package
    return importlib.import_module("columnminer.io.lhe_writer")


def write_events(path, run_card, param_card, points, seed):
    import numpy as np

    writer = lhe_writer()
    LHEEvents, LHEInit, write_lhe = writer.LHEEvents, writer.LHEInit, writer.write_lhe

    n = min(int(run_card_value(run_card, "nevents", "20")), 40)
    event_norm = run_card_value(run_card, "event_norm", "average")
    nominal = card_entries(param_card, "dim6")
    rng = np.random.default_rng(seed)
    pt_h, y_h, phi_h = rng.exponential(60.0, n), rng.uniform(-2, 2, n), rng.uniform(0, 2 * np.pi, n)
    mt = np.sqrt(125.0**2 + pt_h**2)
    higgs = np.column_stack(
        [mt * np.cosh(y_h), pt_h * np.cos(phi_h), pt_h * np.sin(phi_h), mt * np.sinh(y_h)]
    )
    cos, phi = rng.uniform(-1, 1, n), rng.uniform(0, 2 * np.pi, n)
    sin = np.sqrt(1 - cos**2)
    half = np.column_stack([np.full(n, 62.5), 62.5 * sin * np.cos(phi), 62.5 * sin * np.sin(phi), 62.5 * cos])
    beta = higgs[:, 1:] / higgs[:, :1]
    a1 = boost(half, beta)
    a2 = boost(half * np.array([1, -1, -1, -1]), beta)
    k = rng.normal(0, 40, (n, 2))
    jets = []
    for sign, low, high in ((1, 1.0, 4.0), (-1, -4.0, -1.0)):
        pxy = sign * k - higgs[:, 1:3] / 2
        pt, y = np.hypot(pxy[:, 0], pxy[:, 1]), rng.uniform(low, high, n)
        jets.append(np.column_stack([pt * np.cosh(y), pxy, pt * np.sinh(y)]))
    final = a1 + a2 + jets[0] + jets[1]
    e1, e2 = (final[:, 0] + final[:, 3]) / 2, (final[:, 0] - final[:, 3]) / 2
    zero = np.zeros(n)
    incoming = [np.column_stack([e1, zero, zero, e1]), np.column_stack([e2, zero, zero, -e2])]
    momenta = np.stack([*incoming, jets[0], jets[1], a1, a2], axis=1)
    shape = rng.uniform(0.2, 1.0, n)

    def weight(values):
        shift = sum((values.get(i, nominal.get(i, 0.0)) - nominal.get(i, 0.0)) ** 2 for i in (2, 5))
        return 1.0 + 1e-5 * shift * shape

    xsec = 0.2 * (1.0 + 1e-5 * sum(v**2 for v in nominal.values()))
    per_event = xsec / n if event_norm == "sum" else xsec
    weights = {name: per_event * weight(values) for name, values in points}
    events = LHEEvents(
        momenta=momenta,
        pdgid=[2, 1, 2, 1, 22, 22],
        status=[-1, -1, 1, 1, 1, 1],
        mothers=[[0, 0], [0, 0], [1, 2], [1, 2], [1, 2], [1, 2]],
        colours=[[501, 0], [502, 0], [501, 0], [502, 0], [0, 0], [0, 0]],
        weight=np.full(n, per_event),
        weights=weights,
        scale=125.0,
    )
    write_lhe(
        path,
        events,
        init=LHEInit([(xsec, 0.01 * xsec, per_event, 1)]),
        weight_names=[name for name, _ in points],
        event_norm=event_norm,
        run_card=run_card,
        param_card=param_card,
    )


def output(directory):
    directory = Path(directory)
    (directory / "bin").mkdir(parents=True)
    (directory / "Cards").mkdir()
    (directory / "Events").mkdir()
    for name in ("generate_events", "madevent"):
        shutil.copy2(__file__, directory / "bin" / name)
    (directory / "Cards" / "run_card.dat").write_text(
        "  7 = nevents ! Number of unweighted events requested\n  average = event_norm ! norm\n"
    )
    (directory / "Cards" / "param_card.dat").write_text(
        "Block dim6\n    2 0.0e+00 # CWL2\n    5 0.0e+00 # CPWL2\n"
    )


def launch(directory, switches):
    directory = Path(directory)
    cards = directory / "Cards"
    reweight = switches.get("reweight") == "ON"
    rwgt_card = (cards / "reweight_card.dat").read_text() if reweight else ""
    record(
        "launch",
        switches=switches,
        cards=sorted(p.name for p in cards.iterdir()),
        param_card=(cards / "param_card.dat").read_text(),
        run_card=(cards / "run_card.dat").read_text(),
        reweight_card=rwgt_card,
    )
    failure = os.environ.get("FAKE_MG_FAIL")
    if failure == "launch":
        print("fake MadGraph: simulated crash during launch")
        sys.exit(7)
    if failure == "silent":
        return
    runs = [int(p.name[4:]) for p in (directory / "Events").glob("run_*")]
    run = directory / "Events" / f"run_{max(runs, default=0) + 1:02d}"
    name = "events.lhe.gz" if switches.get("order") == "NLO" else "unweighted_events.lhe.gz"
    param_card = (cards / "param_card.dat").read_text()
    nlo = switches.get("order") == "NLO"
    points = reweighted_points(reweight_points(rwgt_card), param_card, nlo)
    write_events(run / name, (cards / "run_card.dat").read_text(), param_card, points, seed=len(runs))
    print(f"fake MadGraph: wrote {run / name}")


def mg5_amc(command_file):
    lines = [line.strip() for line in Path(command_file).read_text().splitlines() if line.strip()]
    record("mg5_aMC", commands=lines)
    for i, line in enumerate(lines):
        if line.startswith("output "):
            output(line.split(None, 1)[1])
        elif line.startswith("launch "):
            switches = dict(item.split("=", 1) for item in lines[i + 1 :] if "=" in item)
            launch(line.split(None, 1)[1], switches)


def madevent_reweight(run_name):
    directory = Path(__file__).resolve().parents[1]
    run = directory / "Events" / run_name
    nlo = (run / "events.lhe.gz").is_file()
    lhe = run / ("events.lhe.gz" if nlo else "unweighted_events.lhe.gz")
    card = (directory / "Cards" / "reweight_card.dat").read_text()
    record("madevent", reweight_card=card)
    text = gzip_text(lhe)
    header = text[: text.index("<init>")]
    slha = re.search(r"<slha>\n(.*?)</slha>", header, re.S)
    param_card = slha.group(1) if slha else (directory / "Cards" / "param_card.dat").read_text()
    new = reweighted_points(reweight_points(card), param_card, nlo)
    old = [wid for wid in re.findall(r"<weight id='([^']*)'", header) if wid not in {n for n, _ in new}]
    points = [(name, {}) for name in old] + new
    run_card = re.search(r"<!\[CDATA\[\n(.*?)\]\]>", header, re.S).group(1)
    write_events(lhe, run_card, param_card, points, seed=int(run_name[4:]) - 1)
    print(f"fake MadGraph: reweighted {lhe}")


def gzip_text(path):
    import gzip

    with gzip.open(path, "rt") as handle:
        return handle.read()


def main():
    name = Path(sys.argv[0]).name
    if name == "mg5_aMC":
        mg5_amc(sys.argv[1])
    elif name == "madevent" and sys.argv[1:2] == ["reweight"]:
        madevent_reweight(sys.argv[2])
    else:
        record(name)


if __name__ == "__main__":
    main()

"""Fixture trees that follow the real datasets' naming conventions exactly (tiny rendered faces)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from expr_gan.data.faces import render_face, sample_capture, sample_identity

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "caspeal_expression_names_sample.txt"
CASPEAL_CODES = {"N": "neutral", "L": "laughing", "F": "frowning", "S": "surprise", "C": "eyes_closed", "O": "mouth_open"}


def face(person: int, expression: str, size: int = 64, capture: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A rendered face (uint8 RGB) and its eye positions."""
    return render_face(sample_identity(7, person), expression, sample_capture(7, person, 0, capture), size)


def caspeal_names() -> list[str]:
    """Real CAS-PEAL expression-subset names (shared/data), or the same ones typed in when absent."""
    if SHARED.is_file():
        return [n.strip() for n in SHARED.read_text().splitlines() if n.strip()]
    subjects = [("FM", "000046", "R1"), ("FM", "000145", "R0"), ("FM", "000688", "R0"), ("FY", "000007", "R1"), ("FY", "000010", "R1")]
    return [f"{g}_{s}_IEU+00_PM+00_E{c}_A0_D0_T0_BB_M0_{r}_S0" for g, s, r in subjects for c in "LFS"]


def make_caspeal(root: Path) -> dict:
    """CAS-PEAL-R1/FRONTAL/{Expression,Normal} with .tif grayscale, one 16-bit, one RGB .JPG, FaceFP_2.txt,
    a corrupt file, an unparsable name, a subject without a neutral image, and a list file."""
    expr_dir, normal_dir = root / "FRONTAL" / "Expression", root / "FRONTAL" / "Normal"
    expr_dir.mkdir(parents=True)
    normal_dir.mkdir(parents=True)
    names = caspeal_names()
    subjects = sorted({n.split("_")[1] for n in names})
    person = {s: i for i, s in enumerate(subjects)}
    eye_lines = []
    for k, name in enumerate(names):
        code = name.split("_")[4][1]
        pixels, eyes = face(person[name.split("_")[1]], CASPEAL_CODES[code])
        if k == 0:  # one RGB jpeg with an upper-case suffix
            Image.fromarray(pixels).save(expr_dir / f"{name}.JPG")
        else:
            Image.fromarray(pixels).convert("L").save(expr_dir / f"{name}.tif")
        if k % 2 == 0:
            eye_lines.append(f"{name}\t {eyes[0, 0]:.1f} {eyes[0, 1]:.1f} {eyes[1, 0]:.1f} {eyes[1, 1]:.1f}")
    (expr_dir / "FaceFP_2.txt").write_text("\n".join(eye_lines) + "\n")
    corrupt = names[0].replace("_EL_", "_EO_")
    (expr_dir / f"{corrupt}.tif").write_bytes(b"II*\x00 truncated tiff")
    Image.fromarray(face(0, "neutral")[0]).convert("L").save(expr_dir / "scan_notes.tif")
    with_neutral = [s for s in subjects if s != "000010"]
    for i, s in enumerate(with_neutral):
        gender = next(n.split("_")[0] for n in names if n.split("_")[1] == s)
        accessory, release = ("A1", "R0") if i == 0 else ("A0", "R1")
        name = f"{gender}_{s}_IEU+00_PM+00_EN_{accessory}_D0_T0_BB_M0_{release}_S0"
        pixels = np.asarray(Image.fromarray(face(person[s], "neutral")[0]).convert("L"))
        if i == 1:  # 16-bit grayscale
            Image.fromarray(pixels.astype(np.uint16) * 257).save(normal_dir / f"{name}.tif")
        else:
            Image.fromarray(pixels).save(normal_dir / f"{name}.tif")
    listed = [n for n in names if n.split("_")[1] in ("000046", "000145")][:4]
    list_file = root / "Evaluation Prototype" / "Probe Sets" / "Probe_Expression.txt"
    list_file.parent.mkdir(parents=True)
    list_file.write_text("".join(f"FRONTAL\\Expression\\{n}\r\n" for n in listed))
    return {"subjects": subjects, "names": names, "listed": listed, "list_file": list_file, "corrupt": corrupt}


def make_rafd(root: Path) -> None:
    """Rafd{camera}_{id}_{ethnicity}_{gender}_{emotion}_{gaze}.jpg for 4 people x 3 emotions, plus distractors."""
    root.mkdir(parents=True)
    for p, (pid, eth, gender) in enumerate([("01", "Caucasian", "female"), ("02", "Moroccan", "male"),
                                              ("03", "Caucasian", "male"), ("04", "Kid", "female")]):
        for emotion, drawn in (("neutral", "neutral"), ("happy", "laughing"), ("surprised", "surprise")):
            Image.fromarray(face(p, drawn)[0]).save(root / f"Rafd090_{pid}_{eth}_{gender}_{emotion}_frontal.jpg")
            Image.fromarray(face(p, drawn)[0]).save(root / f"Rafd045_{pid}_{eth}_{gender}_{emotion}_frontal.jpg")
        Image.fromarray(face(p, "neutral")[0]).save(root / f"Rafd090_{pid}_{eth}_{gender}_neutral_left.jpg")


def make_kdef(root: Path) -> None:
    """KDEF/<session><gender><id>/<session><gender><id><expr><angle>.JPG for 3 people, 3 expressions, 2 angles, 2 sessions."""
    for p, who in enumerate(["F01", "M02", "F03"]):
        for session in "AB":
            folder = root / f"{session}{who}"
            folder.mkdir(parents=True)
            for code, drawn in (("NE", "neutral"), ("HA", "laughing"), ("SU", "surprise")):
                for angle in ("S", "HL"):
                    Image.fromarray(face(p, drawn)[0]).save(folder / f"{session}{who}{code}{angle}.JPG")


def make_folder(root: Path, expression_first: bool = False) -> None:
    """root/<identity>/<expression>.png (or root/<expression>/<identity>.png) for 3 people x 3 expressions."""
    for p in range(3):
        for expression in ("neutral", "laughing", "frowning"):
            path = root / (expression if expression_first else f"person{p}") / f"{f'person{p}' if expression_first else expression}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(face(p, expression)[0]).save(path)


def make_csv(root: Path) -> None:
    """root/images/*.png and root/manifest.csv (path, identity, expression), one listed file missing."""
    (root / "images").mkdir(parents=True)
    rows = ["path,identity,expression"]
    for p in range(3):
        for expression in ("neutral", "laughing", "frowning"):
            name = f"images/p{p}_{expression}.png"
            Image.fromarray(face(p, expression)[0]).save(root / name)
            rows.append(f"{name},p{p},{expression}")
    rows.append("images/gone.png,p9,neutral")
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")

"""A small folder in CelebA's layout, for tests, benchmarks and trying ``causalgen import``.

:func:`write_celeba_like` writes ``img_align_celeba/NNNNNN.jpg`` (178 x 218 JPEGs),
``list_attr_celeba.txt`` (the image count, CelebA's 40 attribute names, one line of -1 / 1 values
per image) and ``list_eval_partition.txt`` (0 train, 1 valid, 2 test) as CelebA distributes them.
The pictures are drawn, not photographs: a face-like ellipse whose look follows a few attributes
(``Male`` the skin tone, ``Smiling`` a mouth, ``Mouth_Slightly_Open`` its height, ``Eyeglasses``
two dark frames, ``Blond_Hair`` the hair colour), and ``Mouth_Slightly_Open`` depends on
``Smiling``, so a model has something causal to find.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup",
    "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard",
    "Oval_Face", "Pale_Skin", "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns",
    "Smiling", "Straight_Hair", "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
    "Wearing_Necklace", "Wearing_Necktie", "Young",
)
WIDTH, HEIGHT = 178, 218


def _attributes(n: int, rng: np.random.Generator) -> np.ndarray:
    """int (n, 40) of -1 / 1; Mouth_Slightly_Open follows Smiling 80% of the time."""
    a = rng.choice(np.array([-1, 1]), size=(n, len(CELEBA_ATTRIBUTES)))
    smile, mouth = CELEBA_ATTRIBUTES.index("Smiling"), CELEBA_ATTRIBUTES.index("Mouth_Slightly_Open")
    follow = rng.random(n) < 0.8
    a[follow, mouth] = a[follow, smile]
    return a


def _draw(values: dict[str, int], rng: np.random.Generator) -> Image.Image:
    img = Image.new("RGB", (WIDTH, HEIGHT), tuple(int(c) for c in rng.integers(40, 200, 3)))
    d = ImageDraw.Draw(img)
    hair = (230, 200, 90) if values["Blond_Hair"] > 0 else (50, 35, 25)
    d.ellipse((34, 30, 144, 150), fill=hair)
    skin = (200, 150, 120) if values["Male"] > 0 else (240, 200, 180)
    d.ellipse((44, 50, 134, 180), fill=skin)
    d.ellipse((64, 95, 80, 105), fill=(30, 30, 30))
    d.ellipse((98, 95, 114, 105), fill=(30, 30, 30))
    if values["Eyeglasses"] > 0:
        d.rectangle((58, 88, 86, 112), outline=(0, 0, 0), width=3)
        d.rectangle((92, 88, 120, 112), outline=(0, 0, 0), width=3)
    if values["Smiling"] > 0:
        h = 18 if values["Mouth_Slightly_Open"] > 0 else 6
        d.chord((68, 140 - h // 2, 110, 140 + h), 0, 180, fill=(150, 30, 40))
    else:
        d.line((72, 145, 106, 145), fill=(120, 40, 40), width=3)
    noise = rng.normal(0.0, 6.0, (HEIGHT, WIDTH, 3))
    return Image.fromarray(np.clip(np.asarray(img, np.float64) + noise, 0, 255).astype(np.uint8))


def write_celeba_like(root: str | os.PathLike, n: int = 10, seed: int = 0,
                      quality: int = 90) -> Path:
    """Write ``n`` images and CelebA's two label files under ``root``; returns ``root``."""
    root = Path(root)
    images = root / "img_align_celeba"
    images.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    attrs = _attributes(n, rng)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for name, row in zip(names, attrs, strict=True):
        _draw(dict(zip(CELEBA_ATTRIBUTES, row.tolist(), strict=True)), rng).save(
            images / name, "JPEG", quality=quality)
    lines = [str(n), " ".join(CELEBA_ATTRIBUTES) + " "]
    # CelebA pads the values to two characters: "000001.jpg -1  1  1 -1 ..."
    lines += [name + " " + " ".join(f"{v:2d}" for v in row) for name, row in zip(names, attrs,
                                                                                 strict=True)]
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    part = np.where(np.arange(n) < 0.8 * n, 0, np.where(np.arange(n) < 0.9 * n, 1, 2))
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{name} {p}\n" for name, p in zip(names, part.tolist(), strict=True)),
        encoding="utf-8")
    return root

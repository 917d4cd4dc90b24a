"""Small data files the chapters train on, shipped with the package (nothing is downloaded).

``digits.npz``: the 1,797 handwritten digits of the UCI "Optical Recognition of Handwritten
Digits" data set (its test set, E. Alpaydin and C. Kaynak, 1998; licence CC BY 4.0), as
scikit-learn ships it: ``images`` (1797, 64) uint8 pixels 0–16 of 8 × 8 images, ``labels``
(1797,) uint8 digits 0–9. Read it with :func:`lessons_src.objectives.networks.load_digits`.
"""

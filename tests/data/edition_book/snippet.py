def factor(eta: float) -> float:
    return abs(1 - eta)

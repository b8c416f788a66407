"""Figures against targets, and correctness failures, printed the same way by every benchmark.

Speed targets are reported, never enforced: a shared machine is noisy. A
correctness failure (a vote miscounted, a delivery missing or doubled) makes
the run fail, because no amount of noise explains it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""  # e.g. ">= 1000"; empty when the figure is for information
    met: bool | None = None

    def line(self) -> str:
        verdict = {True: "PASS", False: "MISS", None: ""}[self.met]
        value = f"{self.value:,.0f}" if abs(self.value) >= 100 else f"{self.value:,.2f}"
        target = f"target {self.target}" if self.target else ""
        return f"  {self.name:<44} {value:>10} {self.unit:<10} {target:<18} {verdict}"


def at_least(name: str, value: float, unit: str, target: float) -> Figure:
    return Figure(name, value, unit, f">= {target:g}", value >= target)


def at_most(name: str, value: float, unit: str, target: float) -> Figure:
    return Figure(name, value, unit, f"<= {target:g}", value <= target)


@dataclass
class Report:
    title: str
    figures: list[Figure] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # correctness: these fail the run
    notes: list[str] = field(default_factory=list)

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)

    def render(self) -> str:
        lines = [f"== {self.title}"]
        lines += [figure.line() for figure in self.figures]
        lines += [f"  note: {note}" for note in self.notes]
        lines += [f"  CORRECTNESS FAILURE: {failure}" for failure in self.failures]
        if not self.failures:
            lines.append("  correctness: every count exact")
        return "\n".join(lines)

    @property
    def missed(self) -> list[str]:
        return [figure.name for figure in self.figures if figure.met is False]

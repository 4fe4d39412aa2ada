"""The yearly exit verification (脱贫验收和销号, plan 六(六)): a verification workbook per county and
year, a reproducible random spot-check list, and the verified status read back from the filled
workbook (申报 / 验收通过 / 未通过 / 未验收)."""

from hbreport.verification.build import (
    VerificationSpec,
    build_verification_spec,
    declared_households,
    declared_villages,
)
from hbreport.verification.read import VerificationResult, read_verification
from hbreport.verification.sample import Draw, draw

__all__ = [
    "Draw",
    "VerificationResult",
    "VerificationSpec",
    "build_verification_spec",
    "declared_households",
    "declared_villages",
    "draw",
    "read_verification",
]

"""Operations channels can ask for, run as durable steps over the ledger and BOSS."""

from ledger.limits import LimitDefaults
from ledger.operations.contract import (
    OK,
    OUTCOME_CODES,
    PENDING,
    OperationOutcome,
    OperationRequest,
)
from ledger.operations.service import OPERATION_NAMES, OperationService

__all__ = [
    "OK",
    "OPERATION_NAMES",
    "OUTCOME_CODES",
    "PENDING",
    "LimitDefaults",
    "OperationOutcome",
    "OperationRequest",
    "OperationService",
]

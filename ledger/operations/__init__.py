"""Operations channels can ask for, run as durable steps over the ledger and BOSS."""

from ledger.operations.context import Limits
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
    "Limits",
    "OperationOutcome",
    "OperationRequest",
    "OperationService",
]

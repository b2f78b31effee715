"""SMPP errors: whose fault it is, and the command_status to answer with.

- `PduError`: the peer broke the protocol (a malformed frame or field). It carries the
  command_status for the response (or generic_nack), the sequence number when it was read, and
  `fatal` when the byte stream can no longer be trusted (bad command_length): answer, then drop
  the link.
- `PduValueError`: a PDU was built with a value SMPP cannot carry (our fault when we build it;
  `decode` turns it into a `PduError` when the peer sent it).
- `CodingError` (`UnknownCoding`, `UndecodableText`): a text could not be decoded or encoded;
  never a reason to drop a link, answer ESME_RINVDCS or store the bytes.
"""

from __future__ import annotations

from channels.smpp.constants import ESME_RINVDCS, ESME_RSYSERR, status_name


class SmppError(Exception):
    """Base class; `command_status` is what the response to the offending PDU should carry."""

    def __init__(self, message: str, *, command_status: int = ESME_RSYSERR) -> None:
        super().__init__(message)
        self.command_status = command_status


class PduError(SmppError):
    """The peer sent a malformed PDU: answer with `command_status` (peer's fault)."""

    def __init__(
        self,
        message: str,
        *,
        command_status: int,
        sequence: int | None = None,
        command_id: int | None = None,
        fatal: bool = False,
    ) -> None:
        super().__init__(message, command_status=command_status)
        self.sequence = sequence
        self.command_id = command_id
        self.fatal = fatal

    def __str__(self) -> str:
        where = "" if self.sequence is None else f" (sequence {self.sequence})"
        return f"{self.args[0]}{where}: answer {status_name(self.command_status)}"


class PduValueError(SmppError, ValueError):
    """A PDU field holds a value SMPP cannot carry (our fault when we built the PDU)."""


class CodingError(SmppError, ValueError):
    """A text could not be decoded or encoded in a data_coding."""

    def __init__(self, message: str) -> None:
        super().__init__(message, command_status=ESME_RINVDCS)


class UnknownCoding(CodingError):
    """The link's coding map has no codec for this data_coding."""


class UndecodableText(CodingError):
    """The bytes (or text) are not valid in the codec the data_coding names."""


class UnencodableText(CodingError):
    """The text has characters the chosen codec cannot carry (our fault: choose another)."""

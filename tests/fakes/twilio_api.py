"""A fake of Twilio's Programmable Messaging REST API (Messages resource) on a real local HTTP server, plus
the signing of Twilio's webhooks (X-Twilio-Signature, by twilio's own RequestValidator)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import re
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.fakes.server import LocalServer

FAKE_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FAKE_AUTH_TOKEN = "twilio-auth-token-for-tests"
FAKE_WHATSAPP_FROM = "whatsapp:+14155238886"
BODY_LIMIT = 1600

# Twilio's documented errors, as the API returns them: HTTP status -> (code, message)
_ERRORS: dict[int, tuple[int, str]] = {
    400: (21211, "Invalid 'To' Phone Number"),
    401: (20003, "Authenticate"),
    404: (20404, "The requested resource was not found"),
    429: (20429, "Too Many Requests"),
    500: (20500, "Internal Server Error"),
    503: (20503, "Service Unavailable"),
}


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status}


def signed_webhook(url: str, form: dict[str, str], token: str = FAKE_AUTH_TOKEN) -> tuple[bytes, dict[str, str]]:
    """A webhook as Twilio posts it to `url`: the form-encoded body and its headers, signed."""
    signature = RequestValidator(token).compute_signature(url, form)
    return urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded",
                                      "X-Twilio-Signature": signature}


def whatsapp_form(wa_id: str, sid: str, body: str = "", **fields: str) -> dict[str, str]:
    """An incoming WhatsApp message webhook's parameters, as Twilio documents them."""
    return {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Test", "MessageType": "text",
            "SmsSid": sid, "WaId": wa_id, "SmsStatus": "received", "Body": body, "To": FAKE_WHATSAPP_FROM,
            "NumSegments": "1", "ReferralNumMedia": "0", "MessageSid": sid, "AccountSid": FAKE_ACCOUNT_SID,
            "From": f"whatsapp:+{wa_id}", "ApiVersion": "2010-04-01", **fields}


@dataclass
class Call:
    """One request the fake received."""

    path: str
    form: dict[str, str]
    status: int  # what the fake answered


@dataclass
class _Failure:
    status: int
    code: int | None
    retry_after: str | None


@dataclass
class FakeTwilioApi(LocalServer):
    """Serves `POST /2010-04-01/Accounts/<AccountSid>/Messages.json` like Twilio, from a thread.

    Checks HTTP basic auth (AccountSid:AuthToken; 401 code 20003), the account in the path (404), To and From
    (21604, 21603), a Body or PersistentAction (21602) and Body's 1,600 characters (21617). Answers 201 with the
    message resource, its sid "SM..." counted up. Records every request in `calls`.
    """

    account_sid: str = FAKE_ACCOUNT_SID
    auth_token: str = FAKE_AUTH_TOKEN
    calls: list[Call] = field(default_factory=list)
    port: int = 0
    _failures: list[_Failure | None] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """What TWILIO_API_BASE_URL would be."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def sent(self) -> list[dict[str, str]]:
        """The forms of the messages the fake accepted, in order."""
        return [call.form for call in self.calls if call.status == 201]

    def fail_next(self, status: int, n: int = 1, *, code: int | None = None, retry_after: str | None = None,
                  after: int = 0) -> None:
        """Answer the next `n` requests (after letting `after` through) with `status` and Twilio's error body
        for it (`code` overrides)."""
        with self._lock:
            self._failures.extend([None] * after + [_Failure(status, code, retry_after)] * n)

    # -- lifecycle ---------------------------------------------------------------------------
    server_name = "fake Twilio API"

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self._handle)

    # -- the API -----------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        status, answer, headers = self._answer(request, form)
        with self._lock:
            self.calls.append(Call(request.path, form, status))
        return web.json_response(answer, status=status, headers=headers)

    def _answer(self, request: web.Request, form: dict[str, str]) -> tuple[int, dict[str, Any], dict[str, str]]:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return 401, twilio_error(401, *_ERRORS[401]), {"WWW-Authenticate": 'Basic realm="Twilio API"'}
        if request.match_info["account"] != self.account_sid:
            return 404, twilio_error(404, *_ERRORS[404]), {}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        if failure is not None:
            code, message = _ERRORS.get(failure.status, _ERRORS[400])
            headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return failure.status, twilio_error(failure.status, failure.code or code, message), headers
        problem = _invalid(form)
        if problem:
            return 400, twilio_error(400, *problem), {}
        sid = f"SM{next(self._ids):032x}"
        now = formatdate(usegmt=True)
        return 201, {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": form.get("Body", ""),
            "date_created": now, "date_sent": None, "date_updated": now, "direction": "outbound-api",
            "error_code": None, "error_message": None, "from": form["From"], "messaging_service_sid": None,
            "num_media": "0", "num_segments": "1", "price": None, "price_unit": None, "sid": sid,
            "status": "queued", "to": form["To"],
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json"}, {}


def _invalid(form: dict[str, str]) -> tuple[int, str] | None:
    """Twilio's error for a Messages create it would refuse, or None."""
    if not form.get("To"):
        return 21604, "A 'To' phone number is required."
    if not form.get("From"):
        return 21603, "A 'From' phone number is required."
    if form["To"].startswith("whatsapp:") != form["From"].startswith("whatsapp:"):
        return 21910, "Invalid From and To pair. From and To should be of the same channel"
    if "ContentSid" in form:  # a content template
        if not re.fullmatch(r"HX[0-9a-fA-F]{32}", form["ContentSid"]):
            return 21655, "The ContentSid is Invalid."
        return None
    if not form.get("Body") and not form.get("PersistentAction") and not form.get("MediaUrl"):
        return 21602, "Message body is required."
    if len(form.get("Body", "")) > BODY_LIMIT:
        return 21617, "The concatenated message body exceeds the 1600 character limit."
    return None

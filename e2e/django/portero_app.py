"""A Django app behind Portero: who is calling, from the assertion Portero signs.

Portero forwards /api/demo/... here (config: [upstreams.demo] url = "http://127.0.0.1:8000/demo")
with X-Portero-Assertion, a JWT Portero signs, beside the plain X-Portero-* headers. Read the
person from the assertion's claims only, once checked with Portero's published keys, for this
app's audience (the [upstreams.X] id; "auth" behind nginx, Caddy or Traefik) and Portero's public
origin as issuer: anyone who reaches the app another way can write headers, not a signature.
Needs `pip install django pyjwt[crypto]`.

Run: PORTERO_URL=http://127.0.0.1:3000 PORTERO_ORIGIN=http://127.0.0.1:8080 \
     python portero_app.py runserver 127.0.0.1:8000 --noreload
"""
import os
import sys

import django
import jwt
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

PORTERO_URL = os.environ["PORTERO_URL"]  # where Portero answers, for its keys
PORTERO_ORIGIN = os.environ["PORTERO_ORIGIN"]  # its public origin: the assertion's issuer
AUDIENCE = os.environ.get("PORTERO_AUDIENCE", "demo")  # [upstreams.X] id, or "auth"
keys = jwt.PyJWKClient(f"{PORTERO_URL}/.well-known/jwks.json")


def portero_identity(request):
    """The verified claims of X-Portero-Assertion, or None."""
    token = request.headers.get("X-Portero-Assertion")
    if not token:
        return None
    try:
        key = keys.get_signing_key_from_jwt(token)
        return jwt.decode(token, key.key, algorithms=["EdDSA"],
                          audience=AUDIENCE, issuer=PORTERO_ORIGIN)
    except jwt.PyJWTError:
        return None


def whoami(request):
    claims = portero_identity(request)
    if claims is None:
        return JsonResponse({"error": "not_logged_in",
                             "message": "no valid X-Portero-Assertion"}, status=401)
    return JsonResponse({
        "app": "django",
        "verified": True,
        "subject": claims["sub"],
        "login": claims.get("login"),
        "email": claims.get("email"),
        "name": claims.get("name"),
    })


urlpatterns = [path("demo/whoami", whoami)]

if __name__ == "__main__":
    settings.configure(
        DEBUG=False,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        SECRET_KEY=os.environ.get("DJANGO_SECRET_KEY", os.urandom(32).hex()),
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
    )
    django.setup()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

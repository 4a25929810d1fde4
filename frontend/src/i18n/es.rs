//! Español.

use super::Texts;

pub const ES: Texts = Texts {
    loading: "Cargando…",
    retry: "Reintentar",
    try_again: "Intentar de nuevo",
    back_home: "Volver al inicio",
    log_in_with: "Entrar con {provider}",
    no_providers: "Este servidor no tiene ningún proveedor de inicio de sesión configurado.",
    log_out: "Cerrar sesión",
    logged_out: "Has cerrado tu sesión en Portero.",
    also_log_out_of: "Cerrar también la sesión en {provider}",
    step_checking: "Comprobando la respuesta de {provider}…",
    step_signing_in: "Iniciando tu sesión…",
    login_failed: "No se pudo iniciar sesión",
    error_code: "Código",
    error_details: "Detalles",
    err_access_denied: "Decidiste no compartir tu cuenta.",
    err_state:
        "Este inicio de sesión no empezó en este navegador o ya terminó — inténtalo de nuevo.",
    err_state_expired: "El inicio de sesión tardó demasiado — inténtalo de nuevo.",
    err_provider: "{provider} no está respondiendo bien en este momento.",
    err_provider_refused:
        "{provider} rechazó esta solicitud — puede que la aplicación esté mal configurada.",
    err_interaction: "{provider} necesita que inicies sesión y des tu permiso primero.",
    err_issuer: "La respuesta no llegó de {provider} como se esperaba — inténtalo de nuevo.",
    err_incomplete: "La respuesta de {provider} llegó incompleta — inténtalo de nuevo.",
    err_rate_limited: "Demasiados intentos — espera un momento.",
    err_network: "No se pudo contactar con Portero — revisa tu conexión.",
    err_unknown_provider:
        "Este proveedor de inicio de sesión no está configurado en este servidor.",
    err_store: "Portero no puede guardar sesiones ahora — inténtalo en un momento.",
    err_server: "El servidor de Portero tuvo un problema — inténtalo en un momento.",
    err_blocked: "La solicitud se bloqueó por tu seguridad — recarga la página.",
    err_session_expired: "Tu sesión ha terminado — vuelve a iniciar sesión.",
    err_another_person: "{provider} inició sesión con otra cuenta que la abierta aquí — vuelve a entrar con la misma cuenta, o cierra la sesión primero.",
    err_reauthenticate: "Esta página pide un inicio de sesión más reciente — vuelve a iniciar sesión.",
    err_unknown: "Algo salió mal.",
    the_provider: "El proveedor",
    log_out_everywhere: "Cerrar sesión en todas partes",
    denied_title: "No puedes iniciar sesión con esta cuenta",
    denied_lead:
        "{provider} sabe quién eres, pero este servidor solo deja entrar a algunas cuentas.",
    try_another_account: "Probar con otra cuenta",
};

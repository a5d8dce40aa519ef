using System.ComponentModel.DataAnnotations;

namespace Osiris.Web.Api;

/// <summary>The <c>Osiris</c> configuration section as the web app reads it.</summary>
public sealed class OsirisWebOptions
{
    public const string Section = "Osiris";

    /// <summary>
    /// The web's own API key (<c>Osiris__ServiceKey</c>, from the AppHost's <c>web-service-key</c>): a viewer, used only
    /// for the one shared live view (the stream, task lists and histories). Whatever a person does carries their session.
    /// </summary>
    [Required]
    public string ServiceKey { get; set; } = "";

    /// <summary>Where the API is; a service discovery name by default.</summary>
    [Required]
    public string ApiBaseAddress { get; set; } = "https+http://api";

    /// <summary>
    /// <c>loopback</c> (default): while every address the app listens on is loopback, a request without
    /// <c>X-Forwarded-*</c> headers is signed in as the first admin (<see cref="LocalAdminUserName"/>) — under that name
    /// in the audit trail. <c>off</c>: everyone signs in.
    /// </summary>
    [RegularExpression("^(loopback|off)$")]
    public string AutoSignIn { get; set; } = "loopback";

    public string LocalAdminUserName { get; set; } = "admin";

    /// <summary>The first admin's password (<c>admin-password</c>); the AppHost passes it only under <c>dotnet run</c>.</summary>
    public string? LocalAdminPassword { get; set; }

    /// <summary>Sign-in attempts (the form and single sign-on) per client address and minute.</summary>
    [Range(1, 10_000)]
    public int SignInPerMinute { get; set; } = 10;

    public OidcClientOptions Oidc { get; set; } = new();
}

/// <summary><c>Osiris:Oidc</c>: the web app's side of single sign-on (the API checks the ID token it is given).</summary>
public sealed class OidcClientOptions
{
    public string? Authority { get; set; }
    public string? ClientId { get; set; }
    public string? ClientSecret { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) && !string.IsNullOrWhiteSpace(ClientId);
}

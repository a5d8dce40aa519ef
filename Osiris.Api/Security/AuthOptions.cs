using System.ComponentModel.DataAnnotations;
using Osiris.Shared.Contracts;

namespace Osiris.Api.Security;

/// <summary><c>Osiris:Auth</c>: people, sessions and single sign-on.</summary>
public sealed class AuthOptions
{
    public const string Section = "Osiris:Auth";

    /// <summary>The first admin's name, created on first run when no person exists yet.</summary>
    public string AdminUserName { get; set; } = "admin";

    /// <summary>
    /// The first admin's password: the AppHost generates it (parameter <c>admin-password</c>) and keeps it in its user
    /// secrets. Only read while no person exists; changing it later changes nothing.
    /// </summary>
    public string? AdminPassword { get; set; }

    /// <summary>The web app's own key (parameter <c>web-service-key</c>): a viewer, for the web's one shared live view.</summary>
    public string? WebServiceKey { get; set; }

    /// <summary>How long a sign-in session lasts; not renewed by use. A person signs in again after it.</summary>
    [Range(typeof(TimeSpan), "00:05:00", "7.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Sign-in attempts (password or single sign-on) per client address and minute.</summary>
    [Range(1, 10_000)]
    public int SignInPerMinute { get; set; } = 30;

    public OidcOptions Oidc { get; set; } = new();
}

/// <summary>
/// <c>Osiris:Auth:Oidc</c>: single sign-on with any OpenID Connect provider. The web app runs the sign-in; the API
/// checks the provider's ID token itself (signature from the provider's keys, issuer, audience = client id, lifetime)
/// and maps one claim to a role.
/// </summary>
public sealed class OidcOptions
{
    /// <summary>The provider's issuer URL (its discovery document is at <c>/.well-known/openid-configuration</c>); unset: SSO off.</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    /// <summary>The claim that names the person's groups or roles (<c>groups</c> for Entra ID and Keycloak, <c>roles</c> for app roles).</summary>
    public string RoleClaim { get; set; } = "groups";

    /// <summary>
    /// <c>claim value=role</c> pairs separated by <c>;</c>, e.g. <c>osiris-admins=admin;osiris-operators=operator;*=viewer</c>.
    /// The highest role any value maps to wins; <c>*</c> is everyone the provider signs in. A person no pair maps is refused.
    /// </summary>
    public string RoleMap { get; set; } = "";

    /// <summary>Plain http authorities are accepted only for loopback providers (tests, a local Keycloak).</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) && !string.IsNullOrWhiteSpace(ClientId);

    /// <summary>The role <paramref name="values"/> map to, or null when none does.</summary>
    public string? RoleFor(IEnumerable<string> values)
    {
        var map = RoleMap.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair.Length == 2 && Roles.All.Contains(pair[1]))
            .ToList();
        var held = values.ToHashSet(StringComparer.Ordinal);
        return map.Where(pair => pair[0] == "*" || held.Contains(pair[0]))
            .Select(pair => pair[1])
            .OrderByDescending(Roles.Rank)
            .FirstOrDefault();
    }
}

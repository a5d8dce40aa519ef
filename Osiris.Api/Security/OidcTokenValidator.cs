using System.Security.Claims;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Osiris.Api.Security;

/// <summary>
/// Checks an ID token from the configured OpenID Connect provider: signature against the provider's published keys
/// (discovery document and JWKS, cached and refreshed by <see cref="ConfigurationManager{T}"/>), issuer, audience
/// (our client id) and lifetime. The API trusts the provider, not the web app that passes the token on.
/// </summary>
public sealed class OidcTokenValidator(IOptions<AuthOptions> options, IHttpClientFactory http, TimeProvider time)
{
    private readonly Lock _gate = new();
    private ConfigurationManager<OpenIdConnectConfiguration>? _configuration;

    public bool Enabled => options.Value.Oidc.Enabled;

    /// <summary>The validated claims, or the reason the token is refused.</summary>
    public async Task<(ClaimsIdentity? Identity, string? Error)> ValidateAsync(string idToken, CancellationToken ct)
    {
        var oidc = options.Value.Oidc;
        var manager = Manager(oidc);
        var result = await ValidateAsync(idToken, oidc, await manager.GetConfigurationAsync(ct));
        if (result.Exception is SecurityTokenSignatureKeyNotFoundException)
        {
            // The provider rolled its keys since we last read them: read them again, once, and retry.
            manager.RequestRefresh();
            result = await ValidateAsync(idToken, oidc, await manager.GetConfigurationAsync(ct));
        }
        return result.IsValid ? (result.ClaimsIdentity, null) : (null, result.Exception?.Message ?? "The ID token is not valid.");
    }

    private Task<TokenValidationResult> ValidateAsync(string idToken, OidcOptions oidc, OpenIdConnectConfiguration configuration) =>
        new JsonWebTokenHandler().ValidateTokenAsync(idToken, new TokenValidationParameters
        {
            ValidIssuer = configuration.Issuer,
            ValidAudience = oidc.ClientId,
            IssuerSigningKeys = configuration.SigningKeys,
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256, SecurityAlgorithms.RsaSsaPssSha256],
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = TimeSpan.FromMinutes(1),
            LifetimeValidator = (notBefore, expires, _, parameters) =>
            {
                var now = time.GetUtcNow().UtcDateTime;
                return (notBefore is null || notBefore <= now + parameters.ClockSkew) && expires is { } e && e > now - parameters.ClockSkew;
            },
        });

    /// <summary>The values of the configured role claim (a JSON array or a single string).</summary>
    public IEnumerable<string> RoleValues(ClaimsIdentity identity) =>
        identity.FindAll(options.Value.Oidc.RoleClaim).SelectMany(claim =>
            claim.ValueType == JsonClaimValueTypes.JsonArray
                ? JsonSerializer.Deserialize<string[]>(claim.Value) ?? []
                : [claim.Value]);

    private ConfigurationManager<OpenIdConnectConfiguration> Manager(OidcOptions oidc)
    {
        lock (_gate)
        {
            if (_configuration is null)
            {
                var authority = oidc.Authority!.TrimEnd('/');
                var requireHttps = !Uri.TryCreate(authority, UriKind.Absolute, out var uri) || !uri.IsLoopback;
                _configuration = new ConfigurationManager<OpenIdConnectConfiguration>(
                    $"{authority}/.well-known/openid-configuration",
                    new OpenIdConnectConfigurationRetriever(),
                    new HttpDocumentRetriever(http.CreateClient(nameof(OidcTokenValidator))) { RequireHttps = requireHttps });
            }
            return _configuration;
        }
    }
}

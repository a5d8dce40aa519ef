using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Osiris.Tests.Security;

/// <summary>A person the <see cref="LocalOidcIssuer"/> signs in: the claims its ID tokens carry.</summary>
/// <param name="Subject">The <c>sub</c> claim: the provider's stable id for the person.</param>
/// <param name="Name">The <c>name</c> claim.</param>
/// <param name="Email">The <c>email</c> claim.</param>
/// <param name="Groups">The <c>groups</c> claim, written as a JSON array of strings (as Entra ID and Keycloak do).</param>
public sealed record OidcPerson(string Subject, string Name, string Email, string[] Groups);

/// <summary>
/// An OpenID Connect provider the tests start in-process: their stand-in for Entra ID, Keycloak, Okta and the like.
/// It speaks the authorization code flow (with PKCE S256) over real HTTP on a loopback port, publishes a discovery
/// document and a JWKS, and issues ID tokens signed RS256 with its own RSA key (a new one per instance), so the web
/// app's OpenID Connect handler and the API's token validation run end to end against signatures they must check.
/// </summary>
/// <remarks>
/// <para>
/// A lenient fake proves nothing, so this one enforces the protocol rules a real provider does: the client id must be
/// known; <c>redirect_uri</c> must be absolute http(s) without a fragment and the token request must repeat it exactly;
/// <c>scope</c> must include <c>openid</c>; only <c>response_type=code</c> and PKCE method <c>S256</c> are accepted;
/// the client must authenticate at the token endpoint (<c>client_secret_post</c> or <c>client_secret_basic</c>, never
/// both); a code is single use, short lived, bound to its client, and bound to its PKCE challenge (a verifier without a
/// challenge is refused too); parameters may not be repeated. Errors are the OAuth error responses: a redirect with
/// <c>error</c> when the client and redirect URI are trustworthy, else 400 with
/// <c>{"error":"…","error_description":"…"}</c>; 401 <c>invalid_client</c> when client authentication fails.
/// </para>
/// <para>
/// There is no login page: <c>/authorize</c> signs in <see cref="NextPerson"/> at once and redirects back with a code.
/// </para>
/// </remarks>
public sealed class LocalOidcIssuer : IAsyncDisposable
{
    private const string FormContentType = "application/x-www-form-urlencoded";
    private static readonly TimeSpan CodeLifetime = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan IdTokenLifetime = TimeSpan.FromMinutes(5);
    private static readonly string[] SupportedScopes = ["openid", "profile", "email"];
    private static readonly string[] RedactedParameters = ["client_secret", "code_verifier"];

    private readonly WebApplication _app;
    private readonly RSA _key = RSA.Create(2048);
    private readonly RSA _foreignKey = RSA.Create(2048);
    private readonly SigningCredentials _signing;
    private readonly SigningCredentials _foreignSigning;
    private readonly string _jwks;
    private readonly JsonWebTokenHandler _tokens = new();
    private readonly ConcurrentDictionary<string, Grant> _codes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _redeemed = new(StringComparer.Ordinal);

    private LocalOidcIssuer(WebApplication app, string clientId, string clientSecret)
    {
        _app = app;
        ClientId = clientId;
        ClientSecret = clientSecret;
        var keyId = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(12));
        _signing = Credentials(_key, keyId);
        // The same kid as the real key: a validator finds "its" key and must reject the token on the signature itself.
        _foreignSigning = Credentials(_foreignKey, keyId);
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(_key.ExportParameters(false)) { KeyId = keyId });
        _jwks = JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = jwk.Kty, use = "sig", alg = SecurityAlgorithms.RsaSha256, kid = jwk.Kid, n = jwk.N, e = jwk.E } },
        });
    }

    /// <summary>The issuer URL, e.g. <c>http://127.0.0.1:54321</c> (no trailing slash); every ID token's <c>iss</c>.</summary>
    public string Authority { get; private set; } = "";

    /// <summary>The one client this provider knows (the <c>aud</c> of its ID tokens).</summary>
    public string ClientId { get; }

    /// <summary>That client's secret, checked at the token endpoint.</summary>
    public string ClientSecret { get; }

    /// <summary>The person the next <c>/authorize</c> signs in (the issuer has no login page: it signs this person in at once).</summary>
    public OidcPerson NextPerson { get; set; } = new("alice-sub", "Alice Example", "alice@example.test", ["osiris-operators"]);

    /// <summary>
    /// Redirect URIs <c>/authorize</c> accepts, compared exactly, as a provider's client registration does; null (the
    /// default) accepts any absolute http(s) URI, since a test rarely knows its web app's port before it starts.
    /// </summary>
    public IReadOnlyCollection<string>? RedirectUris { get; set; }

    /// <summary>When true, <c>/authorize</c> refuses a request without a PKCE <c>code_challenge</c> (OAuth 2.1). Default false.</summary>
    public bool RequirePkce { get; set; }

    /// <summary>
    /// Every authorize and token request, for assertions: <c>METHOD /path?key=value&amp;…</c> (values decoded; the
    /// values of <c>client_secret</c> and <c>code_verifier</c> shown as <c>***</c>; <c>[client_secret_basic]</c> when
    /// the client authenticated with HTTP Basic) followed by <c> -> </c> and the outcome, e.g. <c>302 code</c> or
    /// <c>400 invalid_grant: …</c>.
    /// </summary>
    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>Starts the issuer on a free loopback port for the client <paramref name="clientId"/>.</summary>
    public static async Task<LocalOidcIssuer> StartAsync(string clientId, string clientSecret)
    {
        ArgumentException.ThrowIfNullOrEmpty(clientId);
        ArgumentException.ThrowIfNullOrEmpty(clientSecret);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(Microsoft.Extensions.Logging.LogLevel.Warning);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var issuer = new LocalOidcIssuer(app, clientId, clientSecret);
        app.MapGet("/.well-known/openid-configuration", issuer.DiscoveryAsync);
        app.MapGet("/jwks", issuer.JwksAsync);
        app.MapMethods("/authorize", [HttpMethods.Get, HttpMethods.Post], issuer.AuthorizeAsync);
        app.MapPost("/token", issuer.TokenAsync);
        await app.StartAsync();
        issuer.Authority = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return issuer;
    }

    /// <summary>
    /// Signs an ID token for tests that call an API directly: by default one the token endpoint would issue now for
    /// <see cref="ClientId"/>. Vary it to test rejection: another <paramref name="audience"/>, an <paramref name="issuedAt"/>
    /// in the past (UTC; an unspecified kind is taken as UTC) or a short <paramref name="lifetime"/> for an expired token,
    /// or <paramref name="signWithForeignKey"/> for a token signed by a key the JWKS does not hold (same <c>kid</c>, so
    /// only the signature check can catch it).
    /// </summary>
    public string IssueIdToken(OidcPerson person, string? audience = null, string? nonce = null, TimeSpan? lifetime = null,
        DateTime? issuedAt = null, bool signWithForeignKey = false)
    {
        ArgumentNullException.ThrowIfNull(person);
        var at = issuedAt is { } given ? AsUtc(given) : DateTime.UtcNow;
        return CreateIdToken(person, audience ?? ClientId, nonce, at, lifetime ?? IdTokenLifetime, at, accessToken: null, signWithForeignKey);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _key.Dispose();
        _foreignKey.Dispose();
    }

    private Task DiscoveryAsync(HttpContext http) => WriteJsonAsync(http, StatusCodes.Status200OK, new
    {
        issuer = Authority,
        authorization_endpoint = Authority + "/authorize",
        token_endpoint = Authority + "/token",
        jwks_uri = Authority + "/jwks",
        response_types_supported = new[] { "code" },
        response_modes_supported = new[] { "query", "form_post" },
        grant_types_supported = new[] { "authorization_code" },
        subject_types_supported = new[] { "public" },
        id_token_signing_alg_values_supported = new[] { SecurityAlgorithms.RsaSha256 },
        code_challenge_methods_supported = new[] { "S256" },
        token_endpoint_auth_methods_supported = new[] { "client_secret_post", "client_secret_basic" },
        scopes_supported = SupportedScopes,
        claims_supported = new[] { "sub", "iss", "aud", "exp", "iat", "nbf", "auth_time", "nonce", "at_hash", "name", "email", "groups" },
        authorization_response_iss_parameter_supported = true,
    });

    private async Task JwksAsync(HttpContext http)
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(_jwks, http.RequestAborted);
    }

    private async Task AuthorizeAsync(HttpContext http)
    {
        IEnumerable<KeyValuePair<string, StringValues>> source = http.Request.Query;
        if (HttpMethods.IsPost(http.Request.Method))
        {
            // OpenID Connect Core 3.1.2.1: the authorization endpoint takes GET and form POST alike.
            source = IsUrlEncodedForm(http.Request) ? await http.Request.ReadFormAsync(http.RequestAborted) : FormCollection.Empty;
        }
        await LoggedAsync(Describe(http.Request.Method, "/authorize", source, note: null), () => AuthorizeCoreAsync(http, source));
    }

    private async Task<string> AuthorizeCoreAsync(HttpContext http, IEnumerable<KeyValuePair<string, StringValues>> source)
    {
        var (p, duplicate) = Parameters(source);

        // Until the client and its redirect URI are known good, errors go to the browser, never to the redirect URI
        // (RFC 6749 4.1.2.1): redirecting on an unchecked URI makes an open redirector.
        if (duplicate is "client_id" or "redirect_uri")
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", $"'{duplicate}' was given more than once");
        }
        if (p.GetValueOrDefault("client_id") is not { } clientId)
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", "client_id is missing");
        }
        if (!string.Equals(clientId, ClientId, StringComparison.Ordinal))
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", $"unknown client_id '{clientId}'");
        }
        if (p.GetValueOrDefault("redirect_uri") is not { } redirectUri)
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", "redirect_uri is missing");
        }
        if (!IsAbsoluteHttp(redirectUri))
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", "redirect_uri must be an absolute http(s) URI without a fragment");
        }
        if (RedirectUris is { } registered && !registered.Contains(redirectUri, StringComparer.Ordinal))
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", $"redirect_uri '{redirectUri}' is not registered for this client");
        }

        var state = p.GetValueOrDefault("state");
        var responseMode = p.GetValueOrDefault("response_mode");
        var formPost = responseMode == "form_post";
        Task<string> Fail(string error, string description, bool inFormPost) =>
            RespondAsync(http, redirectUri, inFormPost, [("error", error), ("error_description", description), ("state", state), ("iss", Authority)], error + ": " + description);

        if (responseMode is not null and not "query" and not "form_post")
        {
            return await Fail("invalid_request", $"response_mode '{responseMode}' is not supported (query, form_post)", inFormPost: false);
        }
        if (duplicate is not null)
        {
            return await Fail("invalid_request", $"'{duplicate}' was given more than once", formPost);
        }
        switch (p.GetValueOrDefault("response_type"))
        {
            case null:
                return await Fail("invalid_request", "response_type is missing", formPost);
            case not "code":
                return await Fail("unsupported_response_type", "only response_type=code is supported", formPost);
        }
        var scopes = (p.GetValueOrDefault("scope") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (!scopes.Contains("openid", StringComparer.Ordinal))
        {
            return await Fail("invalid_scope", "scope must include openid", formPost);
        }

        var challenge = p.GetValueOrDefault("code_challenge");
        var method = p.GetValueOrDefault("code_challenge_method");
        if (challenge is null && method is not null)
        {
            return await Fail("invalid_request", "code_challenge_method without code_challenge", formPost);
        }
        if (challenge is not null && method != "S256")
        {
            // A missing method means "plain" (RFC 7636 4.3), which this provider does not allow.
            return await Fail("invalid_request", $"code_challenge_method '{method ?? "plain"}' is not supported (S256)", formPost);
        }
        if (challenge is not null && !IsCodeChars(challenge, 43, 43, base64UrlOnly: true))
        {
            return await Fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier (43 characters)", formPost);
        }
        if (challenge is null && RequirePkce)
        {
            return await Fail("invalid_request", "code_challenge is required (PKCE)", formPost);
        }

        // Unknown scopes are ignored, not granted (RFC 6749 3.3); the token response says what was granted.
        var granted = string.Join(' ', scopes.Where(s => SupportedScopes.Contains(s, StringComparer.Ordinal)).Distinct(StringComparer.Ordinal));
        var now = DateTime.UtcNow;
        var code = NewSecret();
        _codes[code] = new Grant(clientId, redirectUri, granted, p.GetValueOrDefault("nonce"), challenge, NextPerson, now, now + CodeLifetime);
        return await RespondAsync(http, redirectUri, formPost, [("code", code), ("state", state), ("iss", Authority)], "code");
    }

    private async Task TokenAsync(HttpContext http)
    {
        if (!IsUrlEncodedForm(http.Request))
        {
            await LoggedAsync($"POST /token ({http.Request.ContentType ?? "no content type"})",
                () => ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", $"the token request must be {FormContentType}"));
            return;
        }
        var form = await http.Request.ReadFormAsync(http.RequestAborted);
        var basic = http.Request.Headers.Authorization.ToString().StartsWith("Basic ", StringComparison.OrdinalIgnoreCase);
        await LoggedAsync(Describe("POST", "/token", form, basic ? "[client_secret_basic]" : null), () => TokenCoreAsync(http, form, basic));
    }

    private async Task<string> TokenCoreAsync(HttpContext http, IFormCollection form, bool basic)
    {
        var (p, duplicate) = Parameters(form);
        if (duplicate is not null)
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", $"'{duplicate}' was given more than once");
        }

        // Client authentication (RFC 6749 2.3.1): exactly one method; failures are 401 invalid_client.
        string? clientId;
        string? secret;
        if (basic)
        {
            if (p.ContainsKey("client_secret"))
            {
                return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", "the client used more than one authentication method");
            }
            if (!TryParseBasic(http.Request.Headers.Authorization.ToString()["Basic ".Length..], out clientId, out secret))
            {
                return await ClientErrorAsync(http, basic, "malformed HTTP Basic credentials");
            }
            if (p.GetValueOrDefault("client_id") is { } bodyClientId && !string.Equals(bodyClientId, clientId, StringComparison.Ordinal))
            {
                return await ClientErrorAsync(http, basic, "client_id in the body differs from the HTTP Basic credentials");
            }
        }
        else
        {
            clientId = p.GetValueOrDefault("client_id");
            secret = p.GetValueOrDefault("client_secret");
        }
        if (clientId is null || secret is null)
        {
            return await ClientErrorAsync(http, basic, "client authentication is required (client_secret_post or client_secret_basic)");
        }
        if (!string.Equals(clientId, ClientId, StringComparison.Ordinal))
        {
            return await ClientErrorAsync(http, basic, $"unknown client_id '{clientId}'");
        }
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(ClientSecret)))
        {
            return await ClientErrorAsync(http, basic, "client authentication failed");
        }

        switch (p.GetValueOrDefault("grant_type"))
        {
            case null:
                return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", "grant_type is missing");
            case not "authorization_code":
                return await ErrorAsync(http, StatusCodes.Status400BadRequest, "unsupported_grant_type", "only grant_type=authorization_code is supported");
        }
        if (p.GetValueOrDefault("code") is not { } code)
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_request", "code is missing");
        }

        // The code is spent by this attempt whatever follows (RFC 6749 4.1.2: it must not be used more than once).
        if (!_codes.TryRemove(code, out var grant))
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant",
                _redeemed.ContainsKey(code) ? "the authorization code has already been used" : "unknown authorization code");
        }
        _redeemed[code] = 0;
        if (!string.Equals(grant.ClientId, clientId, StringComparison.Ordinal))
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant", "the authorization code was issued to another client");
        }
        if (DateTime.UtcNow > grant.ExpiresAt)
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant", "the authorization code has expired");
        }
        if (!string.Equals(p.GetValueOrDefault("redirect_uri"), grant.RedirectUri, StringComparison.Ordinal))
        {
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant", "redirect_uri does not match the one given at authorization");
        }
        var verifier = p.GetValueOrDefault("code_verifier");
        if (grant.CodeChallenge is { } challenge)
        {
            if (verifier is null)
            {
                return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant", "code_verifier is missing (PKCE)");
            }
            if (!IsCodeChars(verifier, 43, 128, base64UrlOnly: false))
            {
                return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant", "code_verifier must be 43 to 128 unreserved characters");
            }
            var computed = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(computed), Encoding.ASCII.GetBytes(challenge)))
            {
                return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant", "code_verifier does not match the code_challenge (PKCE S256)");
            }
        }
        else if (verifier is not null)
        {
            // RFC 9700 2.1.1: a verifier for a code issued without a challenge means a PKCE downgrade; refuse it.
            return await ErrorAsync(http, StatusCodes.Status400BadRequest, "invalid_grant", "code_verifier given but the authorization request had no code_challenge");
        }

        var accessToken = NewSecret();
        var idToken = CreateIdToken(grant.Person, ClientId, grant.Nonce, DateTime.UtcNow, IdTokenLifetime, grant.AuthTime, accessToken, foreignKey: false);
        await WriteJsonAsync(http, StatusCodes.Status200OK, new
        {
            access_token = accessToken,
            token_type = "Bearer",
            expires_in = 3600,
            id_token = idToken,
            scope = grant.Scope,
        });
        return "tokens";
    }

    private string CreateIdToken(OidcPerson person, string audience, string? nonce, DateTime issuedAt, TimeSpan lifetime, DateTime authTime,
        string? accessToken, bool foreignKey)
    {
        var expires = issuedAt + lifetime;
        // nbf must precede exp or the handler refuses to create the token; a non-positive lifetime still yields an
        // (already expired) token.
        var notBefore = expires > issuedAt ? issuedAt : expires.AddMinutes(-1);
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["sub"] = person.Subject,
            ["name"] = person.Name,
            ["email"] = person.Email,
            ["groups"] = (person.Groups ?? []).ToArray(),
            ["auth_time"] = EpochTime.GetIntDate(authTime),
        };
        if (nonce is not null)
        {
            claims["nonce"] = nonce;
        }
        if (accessToken is not null)
        {
            // OpenID Connect Core 3.1.3.6: the left half of SHA-256 of the access token, base64url (checked by the client when present).
            claims["at_hash"] = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken)).AsSpan(0, 16));
        }
        return _tokens.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Authority,
            Audience = audience,
            IssuedAt = issuedAt,
            NotBefore = notBefore,
            Expires = expires,
            Claims = claims,
            SigningCredentials = foreignKey ? _foreignSigning : _signing,
        });
    }

    private async Task LoggedAsync(string request, Func<Task<string>> handle)
    {
        try
        {
            Log.Enqueue($"{request} -> {await handle()}");
        }
        catch (Exception e)
        {
            Log.Enqueue($"{request} -> {e.GetType().Name}: {e.Message}");
            throw;
        }
    }

    /// <summary>Sends an authorization response to the client: a 302 with the parameters in the query, or an auto-submitting form.</summary>
    private static async Task<string> RespondAsync(HttpContext http, string redirectUri, bool formPost, (string Key, string? Value)[] parameters, string outcome)
    {
        var present = parameters.Where(p => p.Value is not null).Select(p => new KeyValuePair<string, string?>(p.Key, p.Value)).ToList();
        NoStore(http.Response);
        if (!formPost)
        {
            http.Response.Redirect(QueryHelpers.AddQueryString(redirectUri, present));
            return "302 " + outcome;
        }
        var html = new StringBuilder()
            .Append("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Signing in</title></head>")
            .Append("<body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"")
            .Append(WebUtility.HtmlEncode(redirectUri)).Append("\">");
        foreach (var (key, value) in present)
        {
            html.Append("<input type=\"hidden\" name=\"").Append(WebUtility.HtmlEncode(key))
                .Append("\" value=\"").Append(WebUtility.HtmlEncode(value)).Append("\">");
        }
        html.Append("<noscript><button type=\"submit\">Continue</button></noscript></form></body></html>");
        http.Response.StatusCode = StatusCodes.Status200OK;
        http.Response.ContentType = "text/html; charset=utf-8";
        await http.Response.WriteAsync(html.ToString(), http.RequestAborted);
        return "200 form_post " + outcome;
    }

    private static Task<string> ClientErrorAsync(HttpContext http, bool basic, string description)
    {
        if (basic)
        {
            // RFC 6749 5.2: a 401 to a client that tried HTTP Basic names the scheme it must use.
            http.Response.Headers.WWWAuthenticate = "Basic realm=\"local-oidc-issuer\"";
        }
        return ErrorAsync(http, StatusCodes.Status401Unauthorized, "invalid_client", description);
    }

    private static async Task<string> ErrorAsync(HttpContext http, int status, string error, string description)
    {
        await WriteJsonAsync(http, status, new { error, error_description = description });
        return $"{status} {error}: {description}";
    }

    private static async Task WriteJsonAsync(HttpContext http, int status, object body)
    {
        http.Response.StatusCode = status;
        NoStore(http.Response);
        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(JsonSerializer.Serialize(body), http.RequestAborted);
    }

    private static void NoStore(HttpResponse response)
    {
        response.Headers.CacheControl = "no-store";
        response.Headers.Pragma = "no-cache";
    }

    /// <summary>
    /// The request's parameters, one value each. Empty values count as absent (RFC 6749 3.1); the first parameter given
    /// more than once is reported, as the spec forbids repeats.
    /// </summary>
    private static (Dictionary<string, string> Values, string? Duplicate) Parameters(IEnumerable<KeyValuePair<string, StringValues>> source)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        string? duplicate = null;
        foreach (var (key, value) in source)
        {
            if (value.Count > 1)
            {
                duplicate ??= key;
            }
            if (value.Count > 0 && value[0] is { Length: > 0 } first)
            {
                values[key] = first;
            }
        }
        return (values, duplicate);
    }

    private static string Describe(string method, string path, IEnumerable<KeyValuePair<string, StringValues>> source, string? note)
    {
        var pairs = source.SelectMany(pair => pair.Value.Select(value =>
            $"{pair.Key}={(RedactedParameters.Contains(pair.Key, StringComparer.Ordinal) ? "***" : value)}"));
        return $"{method} {path}?{string.Join('&', pairs)}{(note is null ? "" : " " + note)}";
    }

    /// <summary>HTTP Basic client credentials: each part form-url-encoded before base64 (RFC 6749 2.3.1).</summary>
    private static bool TryParseBasic(string encoded, [NotNullWhen(true)] out string? clientId, [NotNullWhen(true)] out string? secret)
    {
        clientId = null;
        secret = null;
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded.Trim()));
        }
        catch (FormatException)
        {
            return false;
        }
        var colon = decoded.IndexOf(':');
        if (colon < 0)
        {
            return false;
        }
        clientId = WebUtility.UrlDecode(decoded[..colon]);
        secret = WebUtility.UrlDecode(decoded[(colon + 1)..]);
        return clientId.Length > 0;
    }

    private static bool IsUrlEncodedForm(HttpRequest request) =>
        request.ContentType is { } type && type.Split(';')[0].Trim().Equals(FormContentType, StringComparison.OrdinalIgnoreCase);

    private static bool IsAbsoluteHttp(string value) =>
        !value.Contains('#') && Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>PKCE's character rules (RFC 7636 4.1): unreserved characters; a S256 challenge is base64url only.</summary>
    private static bool IsCodeChars(string value, int min, int max, bool base64UrlOnly) =>
        value.Length >= min && value.Length <= max
        && value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' || (!base64UrlOnly && c is '.' or '~'));

    private static string NewSecret() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));

    private static DateTime AsUtc(DateTime value) =>
        value.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(value, DateTimeKind.Utc) : value.ToUniversalTime();

    private static SigningCredentials Credentials(RSA rsa, string keyId) => new(
        new RsaSecurityKey(rsa)
        {
            KeyId = keyId,
            // Not the process-wide cache: the RSA objects are disposed with this issuer.
            CryptoProviderFactory = new CryptoProviderFactory { CacheSignatureProviders = false },
        },
        SecurityAlgorithms.RsaSha256);

    /// <summary>What an authorization code stands for, until it is redeemed (once) or expires.</summary>
    private sealed record Grant(string ClientId, string RedirectUri, string Scope, string? Nonce, string? CodeChallenge,
        OidcPerson Person, DateTime AuthTime, DateTime ExpiresAt);
}

using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Osiris.Web.Api;

namespace Osiris.Web.Access;

public static class AccessExtensions
{
    public const string SignInPath = "/signin";
    public const string SsoPath = "/signin/sso";
    public const string OidcScheme = "oidc";

    public static IHostApplicationBuilder AddOsirisAccess(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var options = builder.Configuration.GetSection(OsirisWebOptions.Section).Get<OsirisWebOptions>() ?? new();
        services.AddSingleton<AccessPolicy>();
        services.AddSingleton<PersonSignIn>();

        var authentication = services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(cookie =>
        {
            // Renamed from the password-only release's "osiris.auth", whose cookies carry no API session.
            cookie.Cookie.Name = "osiris.session";
            cookie.Cookie.HttpOnly = true;
            // Lax, not Strict: the single sign-on provider sends the browser back here with a top-level navigation.
            cookie.Cookie.SameSite = SameSiteMode.Lax;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // Secure whenever the request is https
            cookie.LoginPath = SignInPath;
            cookie.SlidingExpiration = false; // the cookie ends with the API session it carries
            cookie.Events.OnValidatePrincipal = context =>
            {
                if (context.Principal?.FindFirst(PersonClaims.Token) is null)
                {
                    context.RejectPrincipal();
                }
                return Task.CompletedTask;
            };
        });
        if (options.Oidc.Enabled)
        {
            authentication.AddOpenIdConnect(OidcScheme, "Single sign-on", oidc =>
            {
                oidc.Authority = options.Oidc.Authority;
                oidc.ClientId = options.Oidc.ClientId;
                oidc.ClientSecret = options.Oidc.ClientSecret;
                oidc.ResponseType = "code";
                oidc.ResponseMode = "query";
                oidc.UsePkce = true;
                oidc.Scope.Add("email");
                oidc.SaveTokens = false;
                oidc.MapInboundClaims = false;
                oidc.RequireHttpsMetadata = !(Uri.TryCreate(options.Oidc.Authority, UriKind.Absolute, out var uri) && uri.IsLoopback);
                oidc.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
                // The provider answers with a top-level GET (response_mode=query), which Lax cookies survive, also over http.
                // Secure under https; a plain-http local app still gets its cookies back (the default is always Secure).
                oidc.CorrelationCookie.SameSite = SameSiteMode.Lax;
                oidc.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                oidc.NonceCookie.SameSite = SameSiteMode.Lax;
                oidc.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                oidc.Events.OnTokenValidated = async context =>
                {
                    // The API checks the provider's ID token itself and answers with a session for the person it names.
                    var idToken = context.TokenEndpointResponse?.IdToken ?? context.ProtocolMessage.IdToken;
                    var signIn = context.HttpContext.RequestServices.GetRequiredService<PersonSignIn>();
                    var (session, error) = await signIn.WithIdTokenAsync(idToken, context.HttpContext);
                    if (session is null)
                    {
                        context.Fail(error ?? "The API refused the sign-in.");
                        return;
                    }
                    context.Principal = PersonSignIn.Principal(session, context.HttpContext);
                    context.Properties!.ExpiresUtc = session.ExpiresAt;
                    context.Properties.IsPersistent = false;
                    context.Properties.AllowRefresh = false;
                };
                oidc.Events.OnRemoteFailure = context =>
                {
                    context.Response.Redirect($"{SignInPath}?error={Uri.EscapeDataString(context.Failure?.Message ?? "Single sign-on failed.")}");
                    context.HandleResponse();
                    return Task.CompletedTask;
                };
            });
        }
        services.AddCascadingAuthenticationState();

        // Sign-in attempts per client address (ASP.NET Core's rate limiter); every other request passes.
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                IsSignInAttempt(http.Request)
                    ? RateLimitPartition.GetFixedWindowLimiter(http.Connection.RemoteIpAddress?.ToString() ?? "unknown", _ => new FixedWindowRateLimiterOptions
                    {
                        PermitLimit = options.SignInPerMinute, Window = TimeSpan.FromMinutes(1), QueueLimit = 0,
                    })
                    : RateLimitPartition.GetNoLimiter("other"));
            limiter.OnRejected = async (context, ct) =>
            {
                context.HttpContext.Response.Headers.RetryAfter = "60";
                context.HttpContext.Response.ContentType = "text/plain; charset=utf-8";
                await context.HttpContext.Response.WriteAsync("Too many sign-in attempts from this address; wait a minute and try again.", ct);
            };
        });

        // A request must name this app (AllowedHosts; derived from the addresses it listens on when left at "*"):
        // a page on another site that points its own name at this address (DNS rebinding) gets 400. The options are
        // first read at the first request, when the server knows its addresses (however they were configured).
        services.AddOptions<HostFilteringOptions>().PostConfigure<IServer>((hosts, server) =>
        {
            if (hosts.AllowedHosts.Count == 0 || hosts.AllowedHosts is ["*"])
            {
                var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
                hosts.AllowedHosts = [.. AccessPolicy.HostsFor(addresses.Count > 0 ? addresses : ["http://localhost"])];
            }
        });
        return builder;
    }

    private static bool IsSignInAttempt(HttpRequest request) =>
        HttpMethods.IsPost(request.Method) && request.Path.StartsWithSegments(SignInPath) || request.Path.StartsWithSegments(SsoPath);

    /// <summary>
    /// Every request but the sign-in page, static files and health probes needs a signed-in person; a local request
    /// may be signed in as the first admin on the way (<see cref="AccessPolicy"/>).
    /// </summary>
    public static IApplicationBuilder UseOsirisAccess(this WebApplication app)
    {
        app.UseAuthentication();
        app.UseRateLimiter();
        app.Use(async (context, next) =>
        {
            if (context.User.Identity?.IsAuthenticated == true || IsOpen(context.Request.Path))
            {
                await next(context);
                return;
            }
            var policy = context.RequestServices.GetRequiredService<AccessPolicy>();
            if (policy.MaySignInAutomatically(context))
            {
                var options = context.RequestServices.GetRequiredService<IOptions<OsirisWebOptions>>().Value;
                var (session, _) = await context.RequestServices.GetRequiredService<PersonSignIn>()
                    .WithPasswordAsync(options.LocalAdminUserName, options.LocalAdminPassword!, context);
                if (session is not null)
                {
                    context.User = await PersonSignIn.SignInAsync(context, session);
                    await next(context);
                    return;
                }
            }
            if (HttpMethods.IsGet(context.Request.Method) && !context.Request.Path.StartsWithSegments("/_blazor"))
            {
                var returnUrl = context.Request.PathBase + context.Request.Path + context.Request.QueryString;
                context.Response.Redirect($"{SignInPath}?returnUrl={Uri.EscapeDataString(returnUrl)}");
                return;
            }
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        });
        app.MapGet(SsoPath, (string? returnUrl) => Results.Challenge(new AuthenticationProperties { RedirectUri = LocalOnly(returnUrl) }, [OidcScheme]));
        app.MapPost("/signout", async (HttpContext context, IHttpClientFactory factory, Microsoft.AspNetCore.Antiforgery.IAntiforgery antiforgery) =>
        {
            // Only the header's own form (with its antiforgery token) signs out: another local site cannot.
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.BadRequest();
            }
            // The API session ends too, not only the cookie.
            await new OsirisApi(factory, new PersonCredential.Of(context.User)).SignOutAsync(context.RequestAborted);
            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect($"{SignInPath}?signedOut=1");
        }).DisableAntiforgery(); // checked above, also for a POST without a form body
        return app;
    }

    /// <summary>Only a local path (no <c>//host</c>, <c>/\host</c> or control characters): a crafted returnUrl must not send the person elsewhere.</summary>
    public static string LocalOnly(string? returnUrl) =>
        Microsoft.AspNetCore.Http.HttpResults.RedirectHttpResult.IsLocalUrl(returnUrl) && returnUrl!.StartsWith('/') ? returnUrl : "/";

    private static bool IsOpen(PathString path) =>
        path.StartsWithSegments(SignInPath) || path.StartsWithSegments("/signin-oidc") || path.StartsWithSegments("/health") || path.StartsWithSegments("/alive") ||
        path.StartsWithSegments("/_framework") || path.StartsWithSegments("/lib") ||
        path.Value is { } p && (p.EndsWith(".css", StringComparison.Ordinal) || p.EndsWith(".js", StringComparison.Ordinal) ||
                                p.EndsWith(".svg", StringComparison.Ordinal) || p.EndsWith(".ico", StringComparison.Ordinal));
}

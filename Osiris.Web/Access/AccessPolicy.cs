using System.Net;
using System.Net.NetworkInformation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Osiris.Web.Api;

namespace Osiris.Web.Access;

/// <summary>
/// Who may skip the sign-in form: nobody, except — for <c>dotnet run</c> to stay one step — a request to an app that
/// listens on loopback alone, that came without <c>X-Forwarded-*</c>/<c>Forwarded</c> headers (no proxy in between),
/// when the AppHost gave the first admin's password. That request is signed in as the admin, under the admin's name.
/// </summary>
public sealed class AccessPolicy(IServer server, IOptions<OsirisWebOptions> options)
{
    private bool? _loopbackOnly;

    /// <summary>Decided on the first request, when the server's addresses are known.</summary>
    public bool LoopbackOnly => _loopbackOnly ??= !ListensBeyondLoopback(server.Features.Get<IServerAddressesFeature>()?.Addresses ?? []);

    public bool MaySignInAutomatically(HttpContext http) =>
        options.Value.AutoSignIn == "loopback" && !string.IsNullOrEmpty(options.Value.LocalAdminPassword) && LoopbackOnly &&
        (http.Connection.RemoteIpAddress is not { } remote || IPAddress.IsLoopback(remote)) &&
        // A page on another site that makes the browser fetch from here is not the local user asking.
        !string.Equals(http.Request.Headers["Sec-Fetch-Site"], "cross-site", StringComparison.OrdinalIgnoreCase) &&
        !http.Request.Headers.Keys.Any(h => h.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase) ||
                                            h.Equals("Forwarded", StringComparison.OrdinalIgnoreCase));

    public static bool ListensBeyondLoopback(IEnumerable<string> addresses) => addresses.Any(address =>
    {
        var host = BindingAddress.Parse(address).Host.Trim('[', ']');
        return !(host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    });

    /// <summary>
    /// The host names a request may name (<c>AllowedHosts</c> when it is left at <c>*</c>): those of the configured URLs;
    /// loopback names for loopback and wildcard binds, plus this machine's name and addresses for wildcard binds. A public
    /// name (behind a proxy, a DNS name) must be listed in <c>AllowedHosts</c>.
    /// </summary>
    public static IReadOnlyList<string> HostsFor(IEnumerable<string> urls)
    {
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var url in urls)
        {
            var host = BindingAddress.Parse(url).Host;
            var wildcard = host is "*" or "+" or "0.0.0.0" or "[::]" or "::";
            if (wildcard || host.Equals("localhost", StringComparison.OrdinalIgnoreCase) ||
                IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip))
            {
                hosts.UnionWith(["localhost", "127.0.0.1", "[::1]"]);
            }
            if (!wildcard)
            {
                hosts.Add(host);
                continue;
            }
            hosts.Add(Environment.MachineName);
            foreach (var address in NetworkInterface.GetAllNetworkInterfaces().SelectMany(n => n.GetIPProperties().UnicastAddresses))
            {
                hosts.Add(address.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                    ? $"[{address.Address.ToString().Split('%')[0]}]"
                    : address.Address.ToString());
            }
        }
        return [.. hosts];
    }
}

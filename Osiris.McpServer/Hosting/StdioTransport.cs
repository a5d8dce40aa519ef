namespace Osiris.McpServer.Hosting;

/// <summary>stdio: stdout carries JSON-RPC only, so every log line goes to stderr and the host prints no banner.</summary>
public static class StdioTransport
{
    public static async Task RunAsync(string[] hostArgs)
    {
        var builder = Host.CreateApplicationBuilder(hostArgs);
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<ConsoleLifetimeOptions>(options => options.SuppressStatusMessages = true);
        builder.AddServiceDefaults();
        builder.AddOsirisMcpServer().WithStdioServerTransport();
        await builder.Build().RunAsync();
    }
}

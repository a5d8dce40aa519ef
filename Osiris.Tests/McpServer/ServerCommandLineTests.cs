using Osiris.McpServer.Hosting;

namespace Osiris.Tests.McpServer;

[Trait("Category", "Unit")]
public sealed class ServerCommandLineTests
{
    [Fact]
    public void NoAuthWithoutARootIsRejected() =>
        Assert.Contains("--root", ServerCommandLine.Parse(["--no-auth"]).Error);

    [Fact]
    public void StdioWithoutARootIsRejected() =>
        Assert.Contains("--root", ServerCommandLine.Parse(["--stdio"]).Error);

    [Fact]
    public void RootAndNoAuthBecomeSettingsAndOtherArgumentsPassThrough()
    {
        var parsed = ServerCommandLine.Parse(["--root", "/tmp/ws", "--no-auth", "--urls", "http://127.0.0.1:5999"]);
        Assert.Null(parsed.Error);
        Assert.False(parsed.Stdio);
        Assert.Equal(["--urls", "http://127.0.0.1:5999", "--Workspaces:FixedRoot=/tmp/ws", "--Mcp:NoAuth=true"], parsed.HostArgs);
    }

    [Theory]
    [InlineData("rm -rf /")]
    [InlineData("rm -rf --no-preserve-root /")]
    [InlineData("sudo rm -fr /*")]
    [InlineData("cd /tmp && rm --recursive --force ~")]
    [InlineData(":(){ :|:& };:")]
    [InlineData("f(){ f|f& }; f")]
    [InlineData("mkfs.ext4 /dev/sda1")]
    public void PlainlyDestructiveCommandsAreRefused(string command) =>
        Assert.NotNull(Osiris.McpServer.Sandbox.CommandPolicy.Refusal(command));

    [Theory]
    [InlineData("rm -rf build/")]
    [InlineData("rm -rf ./node_modules /workspace/tmp")]
    [InlineData("ls -la / && echo ok")]
    [InlineData("python3 -m pytest -q")]
    public void OrdinaryCommandsPassThePolicy(string command) =>
        Assert.Null(Osiris.McpServer.Sandbox.CommandPolicy.Refusal(command));
}

# Calls the instance metadata service from three processes of their own, as the capture job in
# .github/workflows/ci.yml needs while netsh or pktmon records, and writes their PIDs and classes
# for scripts/ci/check-capture.mjs:
#   curl.exe without a token header (v1); Invoke-WebRequest with X-aws-ec2-metadata-token (v2);
#   Invoke-WebRequest PUT /latest/api/token (token).
# The GET paths carry -Tag, so this run's requests are told from other callers on the runner.
# Answers do not matter (the runner's metadata service may refuse these paths): the requests do.
param(
  [Parameter(Mandatory = $true)][string]$Out,
  [Parameter(Mandatory = $true)][string]$Tag
)
$ErrorActionPreference = 'Stop'
$base = 'http://169.254.169.254'
$v1Path = "/latest/meta-data/etl-imds-ci/$Tag/v1"
$v2Path = "/latest/meta-data/etl-imds-ci/$Tag/v2"

function Invoke-Caller([string]$File, [string[]]$Arguments) {
  $p = Start-Process -FilePath $File -ArgumentList $Arguments -NoNewWindow -PassThru -Wait
  Write-Host "$File (PID $($p.Id)) exited $($p.ExitCode)"
  return $p.Id
}

# A command of its own for powershell.exe, encoded so that no quoting can change it.
function Invoke-PowerShell([string]$Command) {
  $encoded = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($Command))
  return Invoke-Caller 'powershell.exe' @('-NoProfile', '-NonInteractive', '-EncodedCommand', $encoded)
}

$curlPid = Invoke-Caller 'curl.exe' @('-s', '-o', 'NUL', '--max-time', '10', "$base$v1Path")
$v2Pid = Invoke-PowerShell "try { Invoke-WebRequest -UseBasicParsing -TimeoutSec 10 -Uri '$base$v2Path' -Headers @{ 'X-aws-ec2-metadata-token' = 'etl-imds-ci' } | Out-Null } catch { Write-Host `$_ }"
$tokenPid = Invoke-PowerShell "try { Invoke-WebRequest -UseBasicParsing -TimeoutSec 10 -Method Put -Uri '$base/latest/api/token' -Headers @{ 'X-aws-ec2-metadata-token-ttl-seconds' = '60' } | Out-Null } catch { Write-Host `$_ }"

$callers = @(
  @{ pid = $curlPid; class = 'v1'; paths = @($v1Path); image = 'curl.exe' },
  @{ pid = $v2Pid; class = 'v2'; paths = @($v2Path); image = 'powershell.exe' },
  @{ pid = $tokenPid; class = 'token'; paths = @('/latest/api/token'); image = 'powershell.exe' }
)
@{ callers = $callers } | ConvertTo-Json -Depth 4 | Set-Content -Path $Out -Encoding utf8
Get-Content $Out

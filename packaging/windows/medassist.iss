; Inno Setup 6 script: a per-user (or all-users) installer for the PyInstaller build.
; Build on Windows after packaging\build.sh (or the PowerShell steps in docs/delivery.md) produced dist\MedAssist:
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\medassist.iss
; Output: dist\MedAssist-0.1.0-setup.exe
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{6F1D6C1E-4B8A-4E55-9C1B-5D3F0A9E7B21}
AppName=MedAssist
AppVersion={#AppVersion}
AppVerName=MedAssist {#AppVersion}
AppPublisher=MedAssist team
DefaultDirName={autopf}\MedAssist
DefaultGroupName=MedAssist
; Locked-down workstations: installs for the current user without admin rights unless the user chooses otherwise.
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=MedAssist-{#AppVersion}-setup
SetupIconFile=resources\icons\medassist.ico
UninstallDisplayIcon={app}\MedAssist.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
WizardStyle=modern

[Files]
Source: "dist\MedAssist\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\MedAssist"; Filename: "{app}\MedAssist.exe"; IconFilename: "{app}\MedAssist.exe"
Name: "{group}\MedAssist demo (synthetic patients)"; Filename: "{app}\MedAssist.exe"; Parameters: "--demo"
Name: "{group}\MedAssist self-test"; Filename: "{cmd}"; Parameters: "/k ""{app}\medassist-cli.exe"" self-test"
Name: "{autodesktop}\MedAssist"; Filename: "{app}\MedAssist.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; GroupDescription: "Shortcuts:"

[Run]
Filename: "{app}\MedAssist.exe"; Parameters: "--demo"; Description: "Open the MedAssist demo now"; Flags: nowait postinstall skipifsilent

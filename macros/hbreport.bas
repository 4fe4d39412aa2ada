Attribute VB_Name = "hbreport"
' hbreport buttons for the classic xlwings add-in (Windows Excel).
'
' Import this module into a form workbook (VBA editor: File > Import File...), set a reference to
' the xlwings add-in (Tools > References > xlwings), save as .xlsm, and put the macros on the Quick
' Access Toolbar (or run them with Alt+F8). docs/xlwings.md describes the whole setup.
'
'   HB_ValidateBook         check this workbook: findings on the results sheet, cells coloured
'   HB_ConsolidateChildren  consolidate the children: pick the folder holding their workbooks
'   HB_MakeReport           Word progress report of this (consolidated) workbook, written beside it
'   HB_RecalculateAll       full recalculation (HB_ worksheet functions do not recalculate on open)
'
' The module is plain ASCII so that it imports the same under any Windows code page; Chinese text
' is built by Zh() from Unicode code points. ThisWorkbook.cls holds the Workbook_Open procedure.
Option Explicit

Private Const PY_MODULE As String = "import hbreport.xl.macros as m; "

Public Sub HB_ValidateBook()
    RunPython PY_MODULE & "m.validate_book()"
End Sub

Public Sub HB_ConsolidateChildren()
    Dim folder As String
    With Application.FileDialog(4)  ' msoFileDialogFolderPicker
        ' "choose the folder holding the children's workbooks"
        .Title = Zh("9009 62E9 5B58 653E 4E0B 7EA7 62A5 8868 7684 6587 4EF6 5939")
        .AllowMultiSelect = False
        If .Show <> -1 Then Exit Sub
        folder = .SelectedItems(1)
    End With
    ' Forward slashes: the Windows path then needs no escaping inside the Python string.
    RunPython PY_MODULE & "m.consolidate_children(r'''" & Replace(folder, "\", "/") & "''')"
End Sub

Public Sub HB_MakeReport()
    RunPython PY_MODULE & "m.make_report()"
End Sub

Public Sub HB_RecalculateAll()
    Application.StatusBar = Zh("6B63 5728 8BA1 7B97 2026 2026")  ' "calculating..."
    Application.CalculateFull
    Application.StatusBar = False
End Sub

' Text from space-separated hexadecimal Unicode code points.
Private Function Zh(ByVal codes As String) As String
    Dim part As Variant
    For Each part In Split(codes, " ")
        If Len(part) > 0 Then Zh = Zh & ChrW(CLng("&H" & part))
    Next part
End Function

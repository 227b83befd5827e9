"""A small WSDL for the emulated Configuration Web Services: only the three reporting operations.

Document/literal wrapped in namespace `http://service.admin.ws.five9.com/` with unqualified child elements,
as Five9's JAX-WS service publishes it, so a zeep client built from it sends the same envelopes as one
built from `https://api.five9.com/wsadmin/v12/?wsdl&user=...`. Served at `/wsadmin/v12/?wsdl`.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

SERVICE_NS = "http://service.admin.ws.five9.com/"
SERVICE_PATH = "/wsadmin/v12/AdminWebService"

_OPERATIONS = ("runReport", "isReportRunning", "getReportResultCsv")

_TYPES = """
    <xs:element name="runReport" type="tns:runReport"/>
    <xs:element name="runReportResponse" type="tns:runReportResponse"/>
    <xs:element name="isReportRunning" type="tns:isReportRunning"/>
    <xs:element name="isReportRunningResponse" type="tns:isReportRunningResponse"/>
    <xs:element name="getReportResultCsv" type="tns:getReportResultCsv"/>
    <xs:element name="getReportResultCsvResponse" type="tns:getReportResultCsvResponse"/>
    <xs:complexType name="runReport">
      <xs:sequence>
        <xs:element name="folderName" type="xs:string" minOccurs="0"/>
        <xs:element name="reportName" type="xs:string" minOccurs="0"/>
        <xs:element name="criteria" type="tns:customReportCriteria" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
    <xs:complexType name="customReportCriteria">
      <xs:sequence>
        <xs:element name="reportObjects" type="tns:reportObjectList" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="time" type="tns:reportTimeCriteria" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
    <xs:complexType name="reportObjectList">
      <xs:sequence>
        <xs:element name="objectNames" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="objectType" type="xs:string" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
    <xs:complexType name="reportTimeCriteria">
      <xs:sequence>
        <xs:element name="end" type="xs:dateTime" minOccurs="0"/>
        <xs:element name="start" type="xs:dateTime" minOccurs="0"/>
      </xs:sequence>
    </xs:complexType>
    <xs:complexType name="runReportResponse">
      <xs:sequence><xs:element name="return" type="xs:string" minOccurs="0"/></xs:sequence>
    </xs:complexType>
    <xs:complexType name="isReportRunning">
      <xs:sequence>
        <xs:element name="identifier" type="xs:string" minOccurs="0"/>
        <xs:element name="timeout" type="xs:long"/>
      </xs:sequence>
    </xs:complexType>
    <xs:complexType name="isReportRunningResponse">
      <xs:sequence><xs:element name="return" type="xs:boolean"/></xs:sequence>
    </xs:complexType>
    <xs:complexType name="getReportResultCsv">
      <xs:sequence><xs:element name="identifier" type="xs:string" minOccurs="0"/></xs:sequence>
    </xs:complexType>
    <xs:complexType name="getReportResultCsvResponse">
      <xs:sequence><xs:element name="return" type="xs:string" minOccurs="0"/></xs:sequence>
    </xs:complexType>"""


def render_wsdl(base_url: str) -> str:
    messages = "".join(
        f'\n  <message name="{op}"><part name="parameters" element="tns:{op}"/></message>'
        f'\n  <message name="{op}Response"><part name="parameters" element="tns:{op}Response"/></message>'
        for op in _OPERATIONS)
    port_ops = "".join(
        f'\n    <operation name="{op}"><input message="tns:{op}"/><output message="tns:{op}Response"/></operation>'
        for op in _OPERATIONS)
    binding_ops = "".join(
        f'\n    <operation name="{op}"><soap:operation soapAction=""/>'
        '<input><soap:body use="literal"/></input><output><soap:body use="literal"/></output></operation>'
        for op in _OPERATIONS)
    location = quoteattr(base_url.rstrip("/") + SERVICE_PATH)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="{SERVICE_NS}" targetNamespace="{SERVICE_NS}"
    name="WsAdminService">
  <types>
    <xs:schema version="1.0" targetNamespace="{SERVICE_NS}">{_TYPES}
    </xs:schema>
  </types>{messages}
  <portType name="WsAdmin">{port_ops}
  </portType>
  <binding name="WsAdminServicePortBinding" type="tns:WsAdmin">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>{binding_ops}
  </binding>
  <service name="WsAdminService">
    <port name="WsAdminPort" binding="tns:WsAdminServicePortBinding"><soap:address location={location}/></port>
  </service>
</definitions>
"""
